// ByteStream over TLS 1.3 on a TCP socket.
//
// The handshake runs inside the stream's first calls, so a layer that frames
// a socket's bytes can wrap it at once (its own handshake deadline covering
// TLS's): until the TLS handshake completes, readSome and writeSome report
// would_block and move it on, and waits complete when it moves. A client's
// handshake completes only once the server confirmed it accepted the client's
// certificate (the session ticket that follows that check), so a refused
// client learns why from the handshake and sends nothing the server would not
// read. A failed handshake is every later call's error (isIdentityRefusal
// tells a refused identity apart). startTls (tls_handshake.h) instead drives
// the handshake alone, under a deadline, and hands over an established stream.
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
#include <vector>

#include "src/common/status.h"
#include "transport/byte_stream.h"
#include "transport/tls/fingerprint.h"
#include "transport/tls/tls_context.h"

namespace eccl::transport::tls {

enum class TlsRole { kClient, kServer };

class TlsHandshake;

class TlsStream final : public ByteStream {
 public:
  // Plaintext one writeSome encrypts at most (a bounded amount of work per call).
  static constexpr size_t kWriteBudget = 256u << 10;
  // writeSome takes nothing while this much ciphertext waits for the socket.
  static constexpr size_t kMaxPendingCiphertext = 256u << 10;

  // A stream over `socket` (connected, on a strand executor) whose handshake
  // in `role` has not started yet. Fails only when OpenSSL cannot make a session.
  static Result<std::unique_ptr<TlsStream>> create(asio::ip::tcp::socket socket, TlsRole role,
                                                   std::shared_ptr<const TlsContext> context);

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
  std::optional<CertFingerprint> peerCertificate() const override;

  // True once the handshake completed (and, on a client, was confirmed).
  bool established() const { return !handshaking_; }
  // SHA-256 of the peer's leaf certificate (DER), verified against the CA;
  // all zero until established.
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

  TlsStream(asio::ip::tcp::socket socket, SSL* ssl, TlsRole role,
            std::shared_ptr<const TlsContext> context);

  // Moves the handshake on as far as the socket allows without waiting: true
  // once established; false with ec would_block (see handshakeWaitType) or
  // the failure, which every later call reports.
  bool advanceHandshake(std::error_code& ec);
  // What a stalled handshake waits for: the socket to take its bytes, or new ones.
  asio::socket_base::wait_type handshakeWaitType() const;
  // A client's handshake is over; has the server's session ticket (or data,
  // or an alert) said whether it accepted the client's certificate?
  enum class Confirmation { kYes, kNotYet, kRefused };
  Confirmation serverConfirmed(std::error_code& refusal);
  void failHandshake(std::error_code why);
  void finishHandshake();
  // Waits of the stream's users while the handshake runs: they complete when it moves.
  void parkUntilHandshakeMoves(WaitHandler ready);
  void armHandshakeWait();
  void releaseParked(std::error_code ec);

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
  const TlsRole role_;
  const std::shared_ptr<const TlsContext> context_;  // outlives ssl_, which uses it
  std::unique_ptr<SSL, SslFree> ssl_;
  BIO* network_in_ = nullptr;   // ciphertext from the socket, owned by ssl_
  BIO* network_out_ = nullptr;  // ciphertext for the socket, owned by ssl_
  std::unique_ptr<uint8_t[]> scratch_;
  CertFingerprint peer_fingerprint_{};

  bool handshaking_ = true;
  bool ssl_handshake_done_ =
      false;  // SSL_do_handshake succeeded (a client then awaits confirmation)
  bool handshake_wait_armed_ = false;
  bool received_any_ = false;
  bool plaintext_peer_ = false;  // its first bytes were an ECCL frame, not TLS
  std::vector<WaitHandler> parked_;
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
