#include "transport/tls/tls_handshake.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "src/common/log.h"
#include "transport/tcp/tcp_stream.h"
#include "transport/tls/tls_error.h"

namespace eccl::transport::tls {
namespace {

bool isWouldBlock(const std::error_code& ec) {
  return ec == asio::error::would_block || ec == asio::error::try_again;
}

}  // namespace

// Drives SSL_do_handshake over the stream's memory BIOs, waiting on the socket
// whenever OpenSSL needs bytes or the socket is full. Handlers hold the
// handshake alive; the timer closes the socket, which ends any wait.
class TlsHandshake : public std::enable_shared_from_this<TlsHandshake> {
 public:
  TlsHandshake(std::unique_ptr<TlsStream> stream, TlsRole role,
               std::shared_ptr<const TlsContext> context, std::chrono::milliseconds timeout,
               TlsDone done)
      : stream_(std::move(stream)),
        role_(role),
        context_(std::move(context)),
        timeout_(timeout),
        timer_(stream_->executor()),
        done_(std::move(done)) {}

  // The stream's constructor is for this class only.
  static std::unique_ptr<TlsStream> makeStream(asio::ip::tcp::socket socket, SSL* ssl) {
    return std::unique_ptr<TlsStream>(new TlsStream(std::move(socket), ssl));
  }

  void start() {
    timer_.expires_after(timeout_);
    timer_.async_wait([self = shared_from_this()](std::error_code ec) {
      if (ec || self->finished_) return;
      self->finish(timeoutError("TLS handshake with " + self->stream_->remoteAddress() +
                                " timed out after " + std::to_string(self->timeout_.count()) +
                                " ms"));
    });
    step();
  }

 private:
  enum class Confirmation { kYes, kNotYet, kRefused };

  SSL* ssl() { return stream_->ssl_.get(); }

  void step() {
    while (!finished_) {
      ERR_clear_error();
      if (!established_) {
        const int result = SSL_do_handshake(ssl());
        if (result == 1) {
          established_ = true;
          continue;
        }
        if (SSL_get_error(ssl(), result) != SSL_ERROR_WANT_READ) {
          fail(describeFailure());
          return;
        }
      } else {
        const Confirmation confirmed = serverConfirmed();
        if (confirmed == Confirmation::kYes) {
          succeed();
          return;
        }
        if (confirmed == Confirmation::kRefused) {
          fail(describeFailure());
          return;
        }
      }
      std::error_code ec;
      if (!stream_->flush(ec)) {
        if (!isWouldBlock(ec)) {
          fail("cannot send: " + ec.message());
          return;
        }
        wait(asio::ip::tcp::socket::wait_write);
        return;
      }
      if (stream_->fill(ec) > 0) continue;
      if (isWouldBlock(ec)) {
        wait(asio::ip::tcp::socket::wait_read);
        return;
      }
      fail(ec == asio::error::eof ? std::string("the peer closed the connection") : ec.message());
      return;
    }
  }

  // The server checks the client's certificate after the client's handshake
  // is over; its session ticket (or data, or an alert) says how that went.
  Confirmation serverConfirmed() {
    if (role_ == TlsRole::kServer) return Confirmation::kYes;
    uint8_t byte = 0;
    size_t n = 0;
    if (SSL_peek_ex(ssl(), &byte, 1, &n) == 1) return Confirmation::kYes;
    const int error = SSL_get_error(ssl(), 0);
    if (error != SSL_ERROR_WANT_READ) {
      peer_closed_ = error == SSL_ERROR_ZERO_RETURN;  // a close_notify, no alert
      return Confirmation::kRefused;
    }
    return SSL_SESSION_is_resumable(SSL_get0_session(ssl())) == 1 ? Confirmation::kYes
                                                                  : Confirmation::kNotYet;
  }

  void wait(asio::ip::tcp::socket::wait_type type) {
    stream_->socket_.async_wait(type, [self = shared_from_this()](std::error_code ec) {
      if (self->finished_) return;
      if (ec) {
        self->fail("waiting on the socket: " + ec.message());
        return;
      }
      self->step();
    });
  }

  std::string describeFailure() {
    if (peer_closed_) return "the peer closed the connection";
    const long verify = SSL_get_verify_result(ssl());
    if (verify != X509_V_OK) {
      ERR_clear_error();
      return std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
    }
    return takeOpensslErrors();
  }

  void succeed() {
    TlsStream& stream = *stream_;
    stream.peer_fingerprint_ = fingerprintOf(SSL_get0_peer_certificate(ssl()));
    ECCL_LOG_DEBUG("TLS connection with {} established ({}, peer certificate {})",
                   stream.remoteAddress(), stream.cipherName(),
                   formatFingerprint(stream.peer_fingerprint_));
    stream.flushInBackground();  // the server's session ticket, if the socket was full
    finish(std::move(stream_));
  }

  void fail(const std::string& reason) {
    const std::string remote = stream_->remoteAddress();
    // Let the peer's side read the alert that says why (best effort), then close.
    std::error_code ignored;
    stream_->flush(ignored);
    stream_->failWrites(asio::error::connection_aborted);  // no close_notify after a failure
    finish(connectionError("TLS handshake with " + remote + " failed: " + reason));
  }

  void finish(Result<std::unique_ptr<TlsStream>> result) {
    finished_ = true;
    timer_.cancel();
    if (stream_) {
      stream_->failWrites(asio::error::connection_aborted);
      stream_->close();
      stream_.reset();
    }
    TlsDone done = std::move(done_);
    done(std::move(result));
  }

  std::unique_ptr<TlsStream> stream_;
  TlsRole role_;
  std::shared_ptr<const TlsContext> context_;
  std::chrono::milliseconds timeout_;
  asio::steady_timer timer_;
  TlsDone done_;
  bool established_ = false;
  bool finished_ = false;
  bool peer_closed_ = false;
};

void startTls(asio::ip::tcp::socket socket, TlsRole role, std::shared_ptr<const TlsContext> context,
              std::chrono::milliseconds timeout, TlsDone done) {
  const asio::any_io_executor executor = socket.get_executor();
  ERR_clear_error();
  SSL* ssl = context ? SSL_new(context->native()) : nullptr;
  if (ssl == nullptr) {
    Status error = context ? internalError("cannot create a TLS session: " + takeOpensslErrors())
                           : invalidArgument("startTls needs a TLS context");
    asio::post(executor, [done = std::move(done), error = std::move(error)] { done(error); });
    return;
  }
  if (role == TlsRole::kClient) {
    SSL_set_connect_state(ssl);
  } else {
    SSL_set_accept_state(ssl);
  }
  std::unique_ptr<TlsStream> stream = TlsHandshake::makeStream(std::move(socket), ssl);
  auto handshake = std::make_shared<TlsHandshake>(std::move(stream), role, std::move(context),
                                                  timeout, std::move(done));
  asio::post(executor, [handshake] { handshake->start(); });
}

}  // namespace eccl::transport::tls
