// ByteStream over TLS 1.3 on a TCP socket, for a connection whose handshake
// startTls (tls_handshake.h) completed.
//
// OpenSSL never touches the socket: it reads ciphertext from one memory BIO
// and writes it to another, and this class moves bytes between those and the
// non-blocking socket. So nothing blocks, and the stream knows what OpenSSL
// buffered, which readiness waits must take into account:
//  - writeSome encrypts the caller's bytes at once (at most kWriteBudget per
//    call, and only while less than kMaxPendingCiphertext waits for the
//    socket), so no caller buffer is held between calls; ciphertext the socket
//    did not take is flushed in the background, even if the writer goes idle.
//  - waitReadable completes at once while OpenSSL may hold a record, so a
//    readiness wait never sleeps on bytes already received.
// A TLS failure (bad record, alert from the peer) reads as an error_code of
// tlsCategory() (tls_error.h) carrying OpenSSL's reason; a peer's close_notify
// and a TCP end of stream both read as asio::error::eof.
#pragma once

#include <openssl/types.h>

#include <asio/ip/tcp.hpp>
#include <memory>
#include <string>

#include "transport/byte_stream.h"
#include "transport/tls/fingerprint.h"

namespace eccl::transport::tls {

class TlsHandshake;

class TlsStream final : public ByteStream {
 public:
  // Plaintext one writeSome encrypts at most (a bounded amount of work per call).
  static constexpr size_t kWriteBudget = 256u << 10;
  // writeSome takes nothing while this much ciphertext waits for the socket.
  static constexpr size_t kMaxPendingCiphertext = 256u << 10;

  ~TlsStream() override;

  size_t readSome(std::span<uint8_t> into, std::error_code& ec) override;
  size_t writeSome(std::span<const uint8_t> first, std::span<const uint8_t> second,
                   std::error_code& ec) override;
  void waitReadable(WaitHandler ready) override;
  void waitWritable(WaitHandler ready) override;
  // Sends close_notify if it can at once (best effort), then closes the socket.
  void close() override;
  // close_notify, then the TCP FIN once every byte before it reached the socket.
  void shutdownSend() override;
  void abort() override;
  void setPacingRate(uint64_t bytes_per_s) override;
  std::chrono::nanoseconds sendBusyTime() override;
  asio::any_io_executor executor() override { return socket_.get_executor(); }
  const std::string& remoteAddress() const override { return remote_; }

  // SHA-256 of the peer's leaf certificate (DER), verified against the CA.
  const CertFingerprint& peerFingerprint() const { return peer_fingerprint_; }
  // The negotiated cipher suite, e.g. "TLS_AES_128_GCM_SHA256".
  std::string cipherName() const;
  // Ciphertext accepted but not yet taken by the socket.
  size_t pendingCiphertext() const;

 private:
  friend class TlsHandshake;

  struct SslFree {
    void operator()(SSL* ssl) const;
  };

  // Takes the socket (connected, strand executor) and a fresh SSL whose BIOs it sets.
  TlsStream(asio::ip::tcp::socket socket, SSL* ssl);

  // Moves pending ciphertext to the socket until none is left (true) or the
  // socket takes no more (false, ec would_block) or fails (false, ec).
  bool flush(std::error_code& ec);
  // Reads what the socket has into OpenSSL's input; 0 bytes with ec on
  // would_block, end of stream or failure.
  size_t fill(std::error_code& ec);
  // Flushes what it can now and keeps a socket wait armed until nothing is pending.
  void flushInBackground();
  void finishShutdownIfFlushed();
  void failWrites(std::error_code ec);

  asio::ip::tcp::socket socket_;
  std::string remote_;
  std::unique_ptr<SSL, SslFree> ssl_;
  BIO* network_in_ = nullptr;   // ciphertext from the socket, owned by ssl_
  BIO* network_out_ = nullptr;  // ciphertext for the socket, owned by ssl_
  std::unique_ptr<uint8_t[]> scratch_;
  CertFingerprint peer_fingerprint_{};

  std::error_code read_error_;   // sticky: eof or a TLS failure
  std::error_code write_error_;  // sticky: the socket or OpenSSL failed
  bool read_starved_ = false;    // the last readSome found no record and an empty socket
  bool socket_eof_ = false;
  bool close_notify_sent_ = false;
  bool tcp_shutdown_pending_ = false;  // shutdownSend waits for the flush
  bool flush_armed_ = false;
  std::chrono::nanoseconds busy_{0};
  // Expires with the stream: the background flush's handler checks it first.
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace eccl::transport::tls
