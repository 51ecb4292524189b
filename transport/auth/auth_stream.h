// A ByteStream that runs the shared-secret challenge-response
// (auth_messages.h) on the stream it wraps before it lets frames through.
// Wrapping the stream rather than adding a phase before it keeps every
// connection's set-up, timeouts and shutdown as they are: the handshake
// deadline of the layer above covers authentication too.
//
// Until the exchange completes, readSome reports would_block (and moves the
// exchange on), and writeSome too, except on the client once its proof is
// out: it may send frames while it waits for the server's proof, so
// authentication costs one round trip, not two, before the first frame.
// A failure is reported by every later call as an AuthErrc error code (the
// connection's owner logs it, as any failed connection).
#pragma once

#include <array>
#include <memory>
#include <vector>

#include "transport/auth/auth_messages.h"
#include "transport/auth/cluster_secret.h"
#include "transport/byte_stream.h"

namespace eccl::transport::auth {

class AuthStream final : public ByteStream {
 public:
  AuthStream(std::unique_ptr<ByteStream> inner, Side side,
             std::shared_ptr<const ClusterSecret> secret);
  ~AuthStream() override;

  size_t readSome(std::span<uint8_t> into, std::error_code& ec) override;
  size_t writeSome(std::span<const uint8_t> first, std::span<const uint8_t> second,
                   std::error_code& ec) override;
  void waitReadable(WaitHandler ready) override;
  void waitWritable(WaitHandler ready) override;
  void close() override;
  void shutdownSend() override { inner_->shutdownSend(); }
  void abort() override;
  void setPacingRate(uint64_t bytes_per_s) override { inner_->setPacingRate(bytes_per_s); }
  // Only once the exchange is done: before, the bytes awaited are the exchange's.
  void setReadLowWater(size_t bytes) override {
    if (phase_ == Phase::kDone) inner_->setReadLowWater(bytes);
  }
  std::chrono::nanoseconds sendBusyTime() override { return inner_->sendBusyTime(); }
  asio::any_io_executor executor() override { return inner_->executor(); }
  const std::string& remoteAddress() const override { return inner_->remoteAddress(); }
  std::optional<tls::CertFingerprint> peerCertificate() const override {
    return inner_->peerCertificate();
  }

  bool authenticated() const { return phase_ == Phase::kDone; }

 private:
  enum class Phase {
    kAwaitMagic,        // server: the first bytes, to tell an unauthenticated peer apart
    kAwaitHello,        // server: the rest of the Hello
    kAwaitClientProof,  // server
    kAwaitServerNonce,  // client
    kAwaitVerdict,      // client
    kDone,
    kFailed,
  };

  // Moves the exchange on as far as the wrapped stream allows without waiting.
  void pump();
  // The bytes awaited in the current phase are all in.
  void onAwaitedBytes();
  void expect(Phase phase, size_t total_bytes, size_t kept_bytes = 0);
  void queue(std::span<const uint8_t> bytes);
  void fail(std::error_code why);
  bool writesOpen() const;
  void releaseParkedWriter(std::error_code ec);

  const std::unique_ptr<ByteStream> inner_;
  const Side side_;
  const std::shared_ptr<const ClusterSecret> secret_;
  Phase phase_;
  Nonce client_nonce_{};
  Nonce server_nonce_{};
  std::vector<uint8_t> out_;  // exchange bytes not yet written
  size_t out_written_ = 0;
  std::array<uint8_t, kHelloBytes> in_{};
  size_t in_have_ = 0;
  size_t in_need_ = 0;
  std::error_code failure_;
  // A writer waiting for the exchange to open writing, which only reading moves on.
  WaitHandler parked_writer_;
};

}  // namespace eccl::transport::auth
