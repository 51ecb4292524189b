#include "tools/eccl-swarm/control_socket.h"

#include <asio/post.hpp>
#include <asio/write.hpp>
#include <cstring>

#include "src/protocol/messages.h"

namespace eccl::tools::swarm {
namespace {
constexpr size_t kReadSize = 64u << 10;
}

ControlSocket::ControlSocket(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {}

void ControlSocket::start(FrameHandler on_frame, CloseHandler on_close) {
  on_frame_ = std::move(on_frame);
  on_close_ = std::move(on_close);
  readMore();
  writeNext();
}

void ControlSocket::send(std::vector<uint8_t> frame) {
  if (closed_) return;
  pending_.insert(pending_.end(), frame.begin(), frame.end());
  if (!writing_) writeNext();
}

void ControlSocket::close() {
  auto keep_alive = shared_from_this();  // the close handler may drop the owner's reference
  finish(Status::ok());
}

void ControlSocket::readMore() {
  if (in_.size() - have_ < kReadSize) in_.resize(have_ + kReadSize);
  socket_.async_read_some(
      asio::buffer(in_.data() + have_, in_.size() - have_),
      [self = shared_from_this()](std::error_code ec, size_t n) { self->onRead(ec, n); });
}

void ControlSocket::onRead(std::error_code ec, size_t n) {
  if (closed_) return;
  if (ec) {
    finish(connectionError(ec == asio::error::eof ? "the master closed the connection"
                                                  : ec.message()));
    return;
  }
  have_ += n;
  size_t used = 0;
  while (have_ - used >= protocol::kFrameHeaderSize) {
    const uint8_t* head = in_.data() + used;
    auto header = protocol::decodeFrameHeader({head, protocol::kFrameHeaderSize});
    if (!header) {
      finish(header.status());
      return;
    }
    const size_t size = protocol::kFrameHeaderSize + header->length;
    if (have_ - used < size) {
      if (in_.size() < size) in_.resize(size + kReadSize);  // room for the whole frame
      break;
    }
    std::span<const uint8_t> payload(head + protocol::kFrameHeaderSize, header->length);
    Status handled = protocol::verifyChecksum(*header, payload);
    if (handled.isOk()) handled = on_frame_(*header, payload);
    if (!handled.isOk()) {
      finish(handled);
      return;
    }
    if (closed_) return;  // the handler closed the connection
    used += size;
  }
  if (used > 0) {
    std::memmove(in_.data(), in_.data() + used, have_ - used);
    have_ -= used;
  }
  readMore();
}

void ControlSocket::writeNext() {
  if (closed_ || pending_.empty()) {
    writing_ = false;
    return;
  }
  writing_ = true;
  in_flight_.swap(pending_);
  pending_.clear();
  asio::async_write(socket_, asio::buffer(in_flight_),
                    [self = shared_from_this()](std::error_code ec, size_t) {
                      if (self->closed_) return;
                      if (ec) {
                        self->finish(connectionError("write: " + ec.message()));
                        return;
                      }
                      self->in_flight_.clear();
                      self->writeNext();
                    });
}

void ControlSocket::finish(const Status& why) {
  if (closed_) return;
  closed_ = true;
  std::error_code ignored;
  socket_.close(ignored);
  // The handlers hold the owner: release them (later: this may run inside
  // on_frame_), then report.
  asio::post(socket_.get_executor(), [dropped = std::move(on_frame_)] {});
  on_frame_ = nullptr;
  auto on_close = std::move(on_close_);
  on_close_ = nullptr;
  if (on_close) on_close(why);
}

}  // namespace eccl::tools::swarm
