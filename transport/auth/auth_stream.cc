#include "transport/auth/auth_stream.h"

#include <asio/error.hpp>
#include <asio/post.hpp>

#include "transport/auth/auth_errors.h"
#include "transport/stream_errors.h"

namespace eccl::transport::auth {

// The other side closing during authentication (isPeerGone) is most likely a
// listener that does not speak it (no secret on its side): AuthErrc::kClosed.

AuthStream::AuthStream(std::unique_ptr<ByteStream> inner, Side side,
                       std::shared_ptr<const ClusterSecret> secret)
    : inner_(std::move(inner)), side_(side), secret_(std::move(secret)) {
  if (side_ == Side::kClient) {
    client_nonce_ = randomNonce();
    const Hello hello = encodeHello(client_nonce_);
    queue(hello);
    expect(Phase::kAwaitServerNonce, kNonceBytes);
  } else {
    expect(Phase::kAwaitMagic, kMagicBytes);
  }
}

AuthStream::~AuthStream() = default;

void AuthStream::expect(Phase phase, size_t total_bytes, size_t kept_bytes) {
  phase_ = phase;
  in_need_ = total_bytes;
  in_have_ = kept_bytes;
}

void AuthStream::queue(std::span<const uint8_t> bytes) {
  out_.insert(out_.end(), bytes.begin(), bytes.end());
}

bool AuthStream::writesOpen() const {
  if (out_written_ < out_.size()) return false;
  return phase_ == Phase::kDone || (side_ == Side::kClient && phase_ == Phase::kAwaitVerdict);
}

void AuthStream::pump() {
  while (!failure_) {
    bool moved = false;
    while (out_written_ < out_.size()) {
      std::error_code ec;
      const size_t n =
          inner_->writeSome(std::span<const uint8_t>(out_).subspan(out_written_), {}, ec);
      if (isWouldBlock(ec)) break;
      if (ec) return fail(isPeerGone(ec) ? make_error_code(AuthErrc::kClosed) : ec);
      out_written_ += n;
      moved = true;
    }
    if (out_written_ == out_.size()) {
      out_.clear();
      out_written_ = 0;
    }
    if (phase_ != Phase::kDone) {
      std::error_code ec;
      const size_t n =
          inner_->readSome(std::span<uint8_t>(in_).subspan(in_have_, in_need_ - in_have_), ec);
      if (ec && !isWouldBlock(ec))
        return fail(isPeerGone(ec) ? make_error_code(AuthErrc::kClosed) : ec);
      if (!ec && n > 0) {
        in_have_ += n;
        moved = true;
        if (in_have_ == in_need_) onAwaitedBytes();
      }
    }
    if (!moved) break;
  }
  if (parked_writer_ && (failure_ || writesOpen() || !out_.empty())) releaseParkedWriter({});
}

void AuthStream::onAwaitedBytes() {
  const std::span<const uint8_t> in(in_.data(), in_have_);
  switch (phase_) {
    case Phase::kAwaitMagic:
      if (isHelloMagic(in)) return expect(Phase::kAwaitHello, kHelloBytes, kMagicBytes);
      return fail(isFrameMagic(in) ? AuthErrc::kUnauthenticated : AuthErrc::kNotEccl);
    case Phase::kAwaitHello: {
      auto nonce = decodeHello(in);
      if (!nonce) {
        return fail(nonce.status().code() == Code::kUnsupported ? AuthErrc::kUnsupported
                                                                : AuthErrc::kNotEccl);
      }
      client_nonce_ = *nonce;
      server_nonce_ = randomNonce();
      queue(server_nonce_);
      return expect(Phase::kAwaitClientProof, kProofBytes);
    }
    case Phase::kAwaitClientProof: {
      std::array<uint8_t, kVerdictBytes> verdict{};
      if (!sameProof(in, prove(*secret_, Side::kClient, client_nonce_, server_nonce_))) {
        // Tell the client why before closing (best effort: a fresh socket has room).
        verdict[0] = kVerdictRefused;
        std::error_code ignored;
        inner_->writeSome(verdict, {}, ignored);
        inner_->shutdownSend();
        return fail(AuthErrc::kBadProof);
      }
      verdict[0] = kVerdictAccepted;
      const Proof proof = prove(*secret_, Side::kServer, client_nonce_, server_nonce_);
      std::copy(proof.begin(), proof.end(), verdict.begin() + 1);
      queue(verdict);
      return expect(Phase::kDone, 0);
    }
    case Phase::kAwaitServerNonce: {
      std::copy(in.begin(), in.end(), server_nonce_.begin());
      const Proof proof = prove(*secret_, Side::kClient, client_nonce_, server_nonce_);
      queue(proof);
      return expect(Phase::kAwaitVerdict, kVerdictBytes);
    }
    case Phase::kAwaitVerdict:
      if (in[0] != kVerdictAccepted) return fail(AuthErrc::kRefused);
      if (!sameProof(in.subspan(1), prove(*secret_, Side::kServer, client_nonce_, server_nonce_))) {
        return fail(AuthErrc::kBadProof);
      }
      return expect(Phase::kDone, 0);
    case Phase::kDone:
    case Phase::kFailed:
      return;
  }
}

void AuthStream::fail(std::error_code why) {
  if (failure_) return;
  failure_ = why;
  phase_ = Phase::kFailed;
  if (parked_writer_) releaseParkedWriter({});
}

void AuthStream::releaseParkedWriter(std::error_code ec) {
  asio::post(inner_->executor(),
             [ready = std::exchange(parked_writer_, nullptr), ec] { ready(ec); });
}

size_t AuthStream::readSome(std::span<uint8_t> into, std::error_code& ec) {
  if (phase_ != Phase::kDone || !out_.empty()) pump();
  if (failure_) {
    ec = failure_;
    return 0;
  }
  if (phase_ != Phase::kDone) {
    ec = asio::error::would_block;
    return 0;
  }
  return inner_->readSome(into, ec);
}

size_t AuthStream::writeSome(std::span<const uint8_t> first, std::span<const uint8_t> second,
                             std::error_code& ec) {
  if (phase_ != Phase::kDone || !out_.empty()) pump();
  if (failure_) {
    ec = failure_;
    return 0;
  }
  if (!writesOpen()) {
    ec = asio::error::would_block;
    return 0;
  }
  return inner_->writeSome(first, second, ec);
}

void AuthStream::waitReadable(WaitHandler ready) {
  if (failure_) {
    asio::post(inner_->executor(), [ready = std::move(ready)] { ready({}); });
    return;
  }
  // Exchange bytes to write first: the reader's next readSome writes them.
  if (!out_.empty()) return inner_->waitWritable(std::move(ready));
  inner_->waitReadable(std::move(ready));
}

void AuthStream::waitWritable(WaitHandler ready) {
  if (failure_) {
    asio::post(inner_->executor(), [ready = std::move(ready)] { ready({}); });
    return;
  }
  if (writesOpen() || !out_.empty()) return inner_->waitWritable(std::move(ready));
  // Only bytes from the other side move the exchange on; the reader takes
  // them in and releases this writer (pump).
  parked_writer_ = std::move(ready);
}

void AuthStream::close() {
  inner_->close();
  if (parked_writer_) releaseParkedWriter(asio::error::operation_aborted);
}

void AuthStream::abort() {
  inner_->abort();
  if (parked_writer_) releaseParkedWriter(asio::error::operation_aborted);
}

}  // namespace eccl::transport::auth
