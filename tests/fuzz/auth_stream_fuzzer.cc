// libFuzzer target for the cluster-secret handshake (transport/auth/): an
// AuthStream, server or client side, reads what a hostile or broken other
// side sends, cut into pieces of any size.
//
// Input: byte 0 picks the side (bit 0: client) and whether the harness plays
// an honest other side first (bit 1: it answers with the right messages,
// computed from what the stream wrote, then sends the fuzz bytes as frames).
// Byte 1 onwards: pieces, each a length byte and that many bytes, one
// readSome's worth each (at most: a read may take less).
//
// Beyond crashes and sanitizer reports it checks the handshake's promises:
//  - the stream lets bytes through only after the other side proved it holds
//    the secret over this stream's own nonce (a forged or replayed proof never
//    passes), and then delivers exactly the bytes that followed;
//  - with an honest other side it always authenticates;
//  - nothing is written beyond the handshake's own messages before that.
#include <asio/error.hpp>
#include <asio/io_context.hpp>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <span>
#include <vector>

#include "transport/auth/auth_messages.h"
#include "transport/auth/auth_stream.h"

namespace eccl::transport::auth {
namespace {

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "auth_stream_fuzzer: broken promise: %s\n", what);
    std::abort();
  }
}

// The wrapped stream: hands out queued pieces one per read, keeps what is written.
class ScriptedStream final : public ByteStream {
 public:
  explicit ScriptedStream(asio::io_context& io) : io_(io) {}

  size_t readSome(std::span<uint8_t> into, std::error_code& ec) override {
    if (pieces.empty()) {
      ec = ended ? std::error_code(asio::error::eof) : std::error_code(asio::error::would_block);
      return 0;
    }
    auto& piece = pieces.front();
    const size_t n = std::min(into.size(), piece.size());
    std::copy(piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(n), into.begin());
    piece.erase(piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(n));
    if (piece.empty()) pieces.pop_front();
    ec.clear();
    return n;
  }
  size_t writeSome(std::span<const uint8_t> first, std::span<const uint8_t> second,
                   std::error_code& ec) override {
    written.insert(written.end(), first.begin(), first.end());
    written.insert(written.end(), second.begin(), second.end());
    ec.clear();
    return first.size() + second.size();
  }
  void waitReadable(WaitHandler) override {}
  void waitWritable(WaitHandler ready) override { ready({}); }
  void close() override {}
  void shutdownSend() override {}
  void abort() override {}
  void setPacingRate(uint64_t) override {}
  std::chrono::nanoseconds sendBusyTime() override { return {}; }
  asio::any_io_executor executor() override { return io_.get_executor(); }
  const std::string& remoteAddress() const override { return address_; }

  std::deque<std::vector<uint8_t>> pieces;
  std::vector<uint8_t> written;
  bool ended = false;

 private:
  asio::io_context& io_;
  std::string address_ = "fuzz:0";
};

const std::shared_ptr<const ClusterSecret>& secret() {
  static const auto instance = [] {
    const std::string text = "fuzzing-cluster-secret-0123456789";
    return *ClusterSecret::fromBytes(
        std::span(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
  }();
  return instance;
}

// Reads everything the stream lets through now.
std::vector<uint8_t> drain(AuthStream& stream) {
  std::vector<uint8_t> out;
  std::array<uint8_t, 256> buffer{};
  for (int i = 0; i < 10'000; ++i) {
    std::error_code ec;
    const size_t n = stream.readSome(buffer, ec);
    if (ec) break;
    out.insert(out.end(), buffer.begin(), buffer.begin() + static_cast<std::ptrdiff_t>(n));
  }
  return out;
}

}  // namespace
}  // namespace eccl::transport::auth

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace eccl::transport::auth;
  if (size < 1) return 0;
  const bool client = (data[0] & 1) != 0;
  const bool honest = (data[0] & 2) != 0;
  std::vector<std::vector<uint8_t>> pieces;
  for (size_t at = 1; at < size;) {
    const size_t length = std::min<size_t>(data[at], size - at - 1);
    // (A socket never reads 0 bytes without an error: no empty pieces.)
    if (length > 0) pieces.emplace_back(data + at + 1, data + at + 1 + length);
    at += 1 + length;
  }
  std::vector<uint8_t> payload;
  for (const auto& piece : pieces)
    payload.insert(payload.end(), piece.begin(), piece.end());

  asio::io_context io;
  auto inner = std::make_unique<ScriptedStream>(io);
  ScriptedStream& wire = *inner;
  AuthStream stream(std::move(inner), client ? Side::kClient : Side::kServer, secret());
  const auto pump = [&] {
    drain(stream);
    io.poll();
    io.restart();
  };
  pump();

  if (honest) {
    if (client) {
      // The stream wrote its Hello; answer as a server that holds the secret.
      check(wire.written.size() == kHelloBytes, "the client starts with its Hello alone");
      const Nonce client_nonce = *decodeHello(wire.written);
      const Nonce server_nonce = randomNonce();
      wire.pieces.emplace_back(server_nonce.begin(), server_nonce.end());
      pump();
      check(wire.written.size() == kHelloBytes + kProofBytes, "the client proves itself");
      std::vector<uint8_t> verdict = {kVerdictAccepted};
      const Proof proof = prove(*secret(), Side::kServer, client_nonce, server_nonce);
      verdict.insert(verdict.end(), proof.begin(), proof.end());
      wire.pieces.push_back(verdict);
    } else {
      const Nonce client_nonce = randomNonce();
      const Hello hello = encodeHello(client_nonce);
      wire.pieces.emplace_back(hello.begin(), hello.end());
      pump();
      check(wire.written.size() == kNonceBytes, "the server answers with its nonce alone");
      Nonce server_nonce{};
      std::copy(wire.written.begin(), wire.written.end(), server_nonce.begin());
      const Proof proof = prove(*secret(), Side::kClient, client_nonce, server_nonce);
      wire.pieces.emplace_back(proof.begin(), proof.end());
    }
    for (const auto& piece : pieces)
      wire.pieces.push_back(piece);
    std::vector<uint8_t> got = drain(stream);
    io.poll();
    check(stream.authenticated(), "an honest other side is accepted");
    check(got == payload, "after the handshake, exactly the bytes that followed come through");
    return 0;
  }

  // A fuzzed other side: it cannot know the secret, so nothing may pass.
  for (const auto& piece : pieces)
    wire.pieces.push_back(piece);
  wire.ended = true;
  const std::vector<uint8_t> got = drain(stream);
  io.poll();
  check(!stream.authenticated(), "a fuzzed other side never authenticates");
  check(got.empty(), "no byte passes an unauthenticated stream");
  const size_t handshake_bytes = client ? kHelloBytes + kProofBytes : kNonceBytes + kVerdictBytes;
  check(wire.written.size() <= handshake_bytes, "only handshake messages are written");
  return 0;
}
