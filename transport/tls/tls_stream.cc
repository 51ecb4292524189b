#include "transport/tls/tls_stream.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/socket_base.hpp>
#include <cstring>

#include "src/common/log.h"
#include "transport/stream_errors.h"
#include "transport/tcp/socket_pacing.h"
#include "transport/tcp/tcp_kernel_info.h"
#include "transport/tcp/tcp_stream.h"
#include "transport/tls/tls_error.h"

namespace eccl::transport::tls {
namespace {

// Ciphertext read from the socket per call: many records, so one read feeds
// several SSL_reads.
constexpr size_t kScratchSize = 256u << 10;

}  // namespace

void TlsStream::SslFree::operator()(SSL* ssl) const {
  SSL_free(ssl);
}

Result<std::unique_ptr<TlsStream>> TlsStream::create(asio::ip::tcp::socket socket, TlsRole role,
                                                     std::shared_ptr<const TlsContext> context) {
  if (!context) return invalidArgument("a TLS stream needs a TLS context");
  ERR_clear_error();
  SSL* ssl = SSL_new(context->native());
  if (ssl == nullptr) return internalError("cannot create a TLS session: " + takeOpensslErrors());
  if (role == TlsRole::kClient) {
    SSL_set_connect_state(ssl);
  } else {
    SSL_set_accept_state(ssl);
  }
  return std::unique_ptr<TlsStream>(
      new TlsStream(std::move(socket), ssl, role, std::move(context)));
}

TlsStream::TlsStream(asio::ip::tcp::socket socket, SSL* ssl, TlsRole role,
                     std::shared_ptr<const TlsContext> context)
    : socket_(std::move(socket)),
      role_(role),
      context_(std::move(context)),
      ssl_(ssl),
      network_in_(BIO_new(BIO_s_mem())),
      network_out_(BIO_new(BIO_s_mem())),
      scratch_(std::make_unique<uint8_t[]>(kScratchSize)) {
  std::error_code ec;
  auto remote = socket_.remote_endpoint(ec);
  remote_ = ec ? std::string("<unknown>") : tcp::formatEndpoint(remote);
  socket_.non_blocking(true, ec);
  // An empty input BIO means "retry later", not end of stream: the socket says when it ends.
  BIO_set_mem_eof_return(network_in_, -1);
  BIO_set_mem_eof_return(network_out_, -1);
  SSL_set_bio(ssl_.get(), network_in_, network_out_);  // ssl_ owns both now
}

TlsStream::~TlsStream() {
  parked_.clear();  // their owners are going too: nothing to tell them
  close();
}

std::string TlsStream::cipherName() const {
  const char* name = SSL_get_cipher_name(ssl_.get());
  return name != nullptr ? name : "none";
}

size_t TlsStream::pendingCiphertext() const {
  return BIO_ctrl_pending(network_out_);
}

bool TlsStream::flush(std::error_code& ec) {
  ec.clear();
  while (true) {
    char* data = nullptr;
    const long length = BIO_get_mem_data(network_out_, &data);
    if (length <= 0) return true;
    const size_t n = socket_.write_some(asio::buffer(data, static_cast<size_t>(length)), ec);
    if (ec) return false;
    if (n == static_cast<size_t>(length)) {
      (void)BIO_reset(network_out_);
      continue;
    }
    // A mem BIO drops bytes only by reading them: read the sent ones into scratch.
    for (size_t dropped = 0; dropped < n;) {
      const int chunk = static_cast<int>(std::min(n - dropped, kScratchSize));
      const int got = BIO_read(network_out_, scratch_.get(), chunk);
      if (got <= 0) break;  // cannot happen: the BIO held length > n bytes
      dropped += static_cast<size_t>(got);
    }
  }
}

size_t TlsStream::fill(std::error_code& ec) {
  const size_t n = socket_.read_some(asio::buffer(scratch_.get(), kScratchSize), ec);
  if (ec) return 0;
  if (!received_any_) {
    received_any_ = true;
    // An ECCL frame or cluster-secret Hello starts "ECCL"; a TLS record never does.
    plaintext_peer_ = n >= 4 && std::memcmp(scratch_.get(), "ECCL", 4) == 0;
  }
  if (BIO_write(network_in_, scratch_.get(), static_cast<int>(n)) != static_cast<int>(n)) {
    ec = asio::error::no_memory;
    return 0;
  }
  return n;
}

void TlsStream::failWrites(std::error_code ec) {
  if (!write_error_) write_error_ = ec;
}

void TlsStream::flushInBackground() {
  std::error_code ec;
  if (!flush(ec) && !isWouldBlock(ec)) {
    failWrites(ec);
    return;
  }
  finishShutdownIfFlushed();
  if (flush_armed_ || pendingCiphertext() == 0 || !socket_.is_open()) return;
  flush_armed_ = true;
  socket_.async_wait(asio::ip::tcp::socket::wait_write,
                     [this, alive = std::weak_ptr<int>(alive_)](std::error_code wait_ec) {
                       if (alive.expired()) return;  // the stream is gone
                       flush_armed_ = false;
                       if (wait_ec) return;  // closed: the next read or write reports it
                       flushInBackground();
                     });
}

void TlsStream::finishShutdownIfFlushed() {
  if (!tcp_shutdown_pending_ || pendingCiphertext() > 0 || !socket_.is_open()) return;
  tcp_shutdown_pending_ = false;
  std::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

bool TlsStream::advanceHandshake(std::error_code& ec) {
  ec.clear();
  if (!handshaking_) return true;
  if (read_error_) {
    ec = read_error_;
    return false;
  }
  if (!socket_.is_open()) {
    ec = asio::error::bad_descriptor;
    return false;
  }
  while (true) {
    ERR_clear_error();
    if (!ssl_handshake_done_) {
      const int result = SSL_do_handshake(ssl_.get());
      if (result == 1) {
        ssl_handshake_done_ = true;
        continue;
      }
      if (SSL_get_error(ssl_.get(), result) != SSL_ERROR_WANT_READ) {
        const long verify = SSL_get_verify_result(ssl_.get());
        if (verify != X509_V_OK) {
          ERR_clear_error();
          failHandshake({static_cast<int>(verify), certificateCategory()});
        } else if (plaintext_peer_) {
          ERR_clear_error();
          failHandshake(plaintextPeerError());
        } else {
          failHandshake(takeTlsError());
        }
        ec = read_error_;
        return false;
      }
    } else {
      std::error_code refusal;
      const Confirmation confirmed = serverConfirmed(refusal);
      if (confirmed == Confirmation::kYes) {
        finishHandshake();
        return true;
      }
      if (confirmed == Confirmation::kRefused) {
        failHandshake(refusal);
        ec = read_error_;
        return false;
      }
    }
    std::error_code io_ec;
    if (!flush(io_ec)) {
      if (!isWouldBlock(io_ec)) {
        failHandshake(io_ec);
        ec = read_error_;
        return false;
      }
      ec = io_ec;  // the socket must take our bytes first
      return false;
    }
    if (fill(io_ec) > 0) continue;
    if (isWouldBlock(io_ec)) {
      ec = io_ec;
      return false;
    }
    if (io_ec == asio::error::eof) socket_eof_ = true;
    failHandshake(io_ec);
    ec = read_error_;
    return false;
  }
}

asio::socket_base::wait_type TlsStream::handshakeWaitType() const {
  return pendingCiphertext() > 0 ? asio::socket_base::wait_write : asio::socket_base::wait_read;
}

TlsStream::Confirmation TlsStream::serverConfirmed(std::error_code& refusal) {
  if (role_ == TlsRole::kServer) return Confirmation::kYes;
  uint8_t byte = 0;
  size_t n = 0;
  if (SSL_peek_ex(ssl_.get(), &byte, 1, &n) == 1) return Confirmation::kYes;
  const int error = SSL_get_error(ssl_.get(), 0);
  if (error == SSL_ERROR_WANT_READ) {
    return SSL_SESSION_is_resumable(SSL_get0_session(ssl_.get())) == 1 ? Confirmation::kYes
                                                                       : Confirmation::kNotYet;
  }
  // A close_notify without an alert, or the alert that says why.
  refusal = error == SSL_ERROR_ZERO_RETURN ? std::error_code(asio::error::eof) : takeTlsError();
  return Confirmation::kRefused;
}

void TlsStream::failHandshake(std::error_code why) {
  read_error_ = why;
  failWrites(why);
  ECCL_LOG_DEBUG("TLS handshake with {} failed: {}", remote_, why.message());
  // Let the peer read the alert that says why (best effort); no close_notify follows.
  std::error_code ignored;
  flush(ignored);
  releaseParked({});  // their next call reports the failure
}

void TlsStream::finishHandshake() {
  handshaking_ = false;
  read_starved_ = false;  // OpenSSL may already hold application data
  peer_fingerprint_ = fingerprintOf(SSL_get0_peer_certificate(ssl_.get()));
  ECCL_LOG_DEBUG("TLS connection with {} established ({}, peer certificate {})", remote_,
                 cipherName(), formatFingerprint(peer_fingerprint_));
  flushInBackground();  // the server's session ticket, if the socket was full
  releaseParked({});
}

void TlsStream::parkUntilHandshakeMoves(WaitHandler ready) {
  parked_.push_back(std::move(ready));
  armHandshakeWait();
}

void TlsStream::armHandshakeWait() {
  if (handshake_wait_armed_) return;
  handshake_wait_armed_ = true;
  socket_.async_wait(handshakeWaitType(),
                     [this, alive = std::weak_ptr<int>(alive_)](std::error_code wait_ec) {
                       if (alive.expired()) return;  // the stream is gone
                       handshake_wait_armed_ = false;
                       if (wait_ec) {
                         releaseParked(wait_ec);
                         return;
                       }
                       std::error_code ec;
                       // Done or failed: advanceHandshake released the waiters.
                       if (advanceHandshake(ec) || !isWouldBlock(ec)) return;
                       if (parked_.empty()) return;
                       armHandshakeWait();
                     });
}

void TlsStream::releaseParked(std::error_code ec) {
  std::vector<WaitHandler> parked = std::move(parked_);
  parked_.clear();
  for (WaitHandler& ready : parked) {
    asio::post(socket_.get_executor(), [ready = std::move(ready), ec] { ready(ec); });
  }
}

std::optional<CertFingerprint> TlsStream::peerCertificate() const {
  if (handshaking_) return std::nullopt;  // not verified yet, or refused
  return peer_fingerprint_;
}

size_t TlsStream::readSome(std::span<uint8_t> into, std::error_code& ec) {
  ec.clear();
  if (!socket_.is_open()) {
    ec = asio::error::bad_descriptor;
    return 0;
  }
  if (read_error_) {
    ec = read_error_;
    return 0;
  }
  if (into.empty()) return 0;
  if (!advanceHandshake(ec)) return 0;
  size_t total = 0;
  while (total < into.size()) {
    ERR_clear_error();
    size_t n = 0;
    if (SSL_read_ex(ssl_.get(), into.data() + total, into.size() - total, &n) == 1) {
      total += n;
      continue;  // more records may be buffered: fill the caller's span
    }
    const int error = SSL_get_error(ssl_.get(), 0);
    if (error == SSL_ERROR_WANT_READ) {
      if (total > 0) break;  // return what we have before touching the socket
      if (socket_eof_) {
        read_error_ = asio::error::eof;
        break;
      }
      std::error_code fill_ec;
      if (fill(fill_ec) > 0) continue;
      if (isWouldBlock(fill_ec)) {
        read_starved_ = true;
        ec = fill_ec;
        // Reading may have produced ciphertext (a KeyUpdate answer): send it.
        flushInBackground();
        return 0;
      }
      if (fill_ec == asio::error::eof) {
        socket_eof_ = true;
        read_error_ = asio::error::eof;
      } else {
        read_error_ = fill_ec;
      }
      break;
    }
    if (error == SSL_ERROR_ZERO_RETURN) {
      read_error_ = asio::error::eof;  // the peer's close_notify
    } else {
      read_error_ = takeTlsError();
      failWrites(read_error_);  // the session is dead both ways
      ECCL_LOG_DEBUG("TLS connection to {}: read failed: {}", remote_, read_error_.message());
    }
    break;
  }
  read_starved_ = false;
  // Send what reading produced: a KeyUpdate answer, or the alert that tells
  // the peer why this side gives up.
  flushInBackground();
  if (total > 0) return total;
  ec = read_error_;
  return 0;
}

size_t TlsStream::writeSome(std::span<const uint8_t> first, std::span<const uint8_t> second,
                            std::error_code& ec) {
  ec.clear();
  if (!socket_.is_open()) {
    ec = asio::error::bad_descriptor;
    return 0;
  }
  if (close_notify_sent_) {
    ec = asio::error::broken_pipe;  // as a TCP socket after shutdown_send
    return 0;
  }
  if (write_error_) {
    ec = write_error_;
    return 0;
  }
  if (first.empty() && second.empty()) return 0;
  if (!advanceHandshake(ec)) return 0;
  if (pendingCiphertext() >= kMaxPendingCiphertext) {
    std::error_code flush_ec;
    if (!flush(flush_ec) && !isWouldBlock(flush_ec)) {
      failWrites(flush_ec);
      ec = flush_ec;
      return 0;
    }
    if (pendingCiphertext() >= kMaxPendingCiphertext) {
      ec = asio::error::would_block;
      return 0;
    }
  }
  // The output BIO grows as needed, so SSL_write always takes all it is given:
  // what it returns is committed to the TLS stream, and no record is left half
  // made from bytes the caller may change before the next call.
  size_t written = 0;
  for (std::span<const uint8_t> piece : {first, second}) {
    const size_t take = std::min(piece.size(), kWriteBudget - written);
    if (take == 0) continue;
    ERR_clear_error();
    size_t n = 0;
    if (SSL_write_ex(ssl_.get(), piece.data(), take, &n) != 1) {
      failWrites(takeTlsError());
      ECCL_LOG_DEBUG("TLS connection to {}: write failed: {}", remote_, write_error_.message());
      break;
    }
    written += n;
    if (n < take) break;
  }
  flushInBackground();
  if (written == 0 && write_error_) ec = write_error_;
  return written;
}

void TlsStream::waitReadable(WaitHandler ready) {
  if (handshaking_ && !read_error_ && socket_.is_open()) {
    parkUntilHandshakeMoves(std::move(ready));
    return;
  }
  // OpenSSL may hold a whole record (or decrypted bytes) that the socket no
  // longer announces: only a read that found nothing may sleep on the socket.
  if (!read_starved_ || !socket_.is_open()) {
    asio::post(socket_.get_executor(), [ready = std::move(ready)] { ready({}); });
    return;
  }
  socket_.async_wait(asio::ip::tcp::socket::wait_read, std::move(ready));
}

void TlsStream::waitWritable(WaitHandler ready) {
  if (handshaking_ && !read_error_ && socket_.is_open()) {
    parkUntilHandshakeMoves(std::move(ready));
    return;
  }
  if (pendingCiphertext() < kMaxPendingCiphertext || !socket_.is_open()) {
    asio::post(socket_.get_executor(), [ready = std::move(ready)] { ready({}); });
    return;
  }
  // Room comes when the socket takes pending ciphertext (the next writeSome flushes first).
  socket_.async_wait(asio::ip::tcp::socket::wait_write, std::move(ready));
}

void TlsStream::close() {
  releaseParked(asio::error::operation_aborted);
  if (!socket_.is_open()) return;
  if (!close_notify_sent_ && !write_error_ && !handshaking_) {
    ERR_clear_error();
    (void)SSL_shutdown(ssl_.get());
    close_notify_sent_ = true;
    ERR_clear_error();
    std::error_code ignored;
    flush(ignored);  // best effort: the socket closes now either way
  }
  std::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

void TlsStream::shutdownSend() {
  if (!socket_.is_open() || close_notify_sent_) return;
  close_notify_sent_ = true;
  if (!write_error_ && !handshaking_) {
    ERR_clear_error();
    if (SSL_shutdown(ssl_.get()) < 0) failWrites(takeTlsError());
  }
  tcp_shutdown_pending_ = true;
  if (write_error_) (void)BIO_reset(network_out_);  // nothing more will reach the socket
  flushInBackground();                              // the FIN follows the last pending byte
}

void TlsStream::abort() {
  releaseParked(asio::error::operation_aborted);
  if (!socket_.is_open()) return;
  std::error_code ignored;
  socket_.set_option(asio::socket_base::linger(true, 0), ignored);
  socket_.close(ignored);
}

void TlsStream::setPacingRate(uint64_t bytes_per_s) {
  if (!socket_.is_open()) return;
  tcp::setMaxPacingRate(socket_.native_handle(), bytes_per_s, remote_);
}

std::chrono::nanoseconds TlsStream::sendBusyTime() {
  if (!socket_.is_open()) return busy_;
  if (auto busy = tcp::kernelBusyTime(socket_.native_handle()))
    busy_ = std::max<std::chrono::nanoseconds>(busy_, *busy);
  return busy_;
}

}  // namespace eccl::transport::tls
