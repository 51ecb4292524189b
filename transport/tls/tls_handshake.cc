#include "transport/tls/tls_handshake.h"

#include <asio/error.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>

#include "transport/tls/tls_error.h"

namespace eccl::transport::tls {

// Moves a stream's handshake on whenever the socket is ready for it, until it
// is established, fails or runs out of time. Handlers hold the handshake
// alive; the timer closes the socket, which ends any wait.
class TlsHandshake : public std::enable_shared_from_this<TlsHandshake> {
 public:
  TlsHandshake(std::unique_ptr<TlsStream> stream, std::chrono::milliseconds timeout, TlsDone done)
      : stream_(std::move(stream)),
        timeout_(timeout),
        timer_(stream_->executor()),
        done_(std::move(done)) {}

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
  void step() {
    if (finished_) return;
    std::error_code ec;
    if (stream_->advanceHandshake(ec)) {
      finish(std::move(stream_));
      return;
    }
    if (ec != asio::error::would_block && ec != asio::error::try_again) {
      fail(ec == asio::error::eof ? std::string("the peer closed the connection") : ec.message());
      return;
    }
    stream_->socket_.async_wait(stream_->handshakeWaitType(),
                                [self = shared_from_this()](std::error_code wait_ec) {
                                  if (self->finished_) return;
                                  if (wait_ec) {
                                    self->fail("waiting on the socket: " + wait_ec.message());
                                    return;
                                  }
                                  self->step();
                                });
  }

  void fail(const std::string& reason) {
    finish(
        connectionError("TLS handshake with " + stream_->remoteAddress() + " failed: " + reason));
  }

  void finish(Result<std::unique_ptr<TlsStream>> result) {
    finished_ = true;
    timer_.cancel();
    if (stream_) {
      stream_->failWrites(asio::error::connection_aborted);  // no close_notify after a failure
      stream_->close();
      stream_.reset();
    }
    TlsDone done = std::move(done_);
    done(std::move(result));
  }

  std::unique_ptr<TlsStream> stream_;
  std::chrono::milliseconds timeout_;
  asio::steady_timer timer_;
  TlsDone done_;
  bool finished_ = false;
};

void startTls(asio::ip::tcp::socket socket, TlsRole role, std::shared_ptr<const TlsContext> context,
              std::chrono::milliseconds timeout, TlsDone done) {
  const asio::any_io_executor executor = socket.get_executor();
  auto stream = TlsStream::create(std::move(socket), role, std::move(context));
  if (!stream) {
    asio::post(executor, [done = std::move(done), error = stream.status()] { done(error); });
    return;
  }
  auto handshake = std::make_shared<TlsHandshake>(std::move(*stream), timeout, std::move(done));
  asio::post(executor, [handshake] { handshake->start(); });
}

}  // namespace eccl::transport::tls
