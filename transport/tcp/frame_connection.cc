#include "transport/tcp/frame_connection.h"

#include <algorithm>
#include <asio/dispatch.hpp>
#include <asio/error.hpp>
#include <asio/post.hpp>
#include <cstring>

#include "src/common/log.h"
#include "transport/auth/auth_errors.h"
#include "transport/stream_errors.h"
#include "transport/tls/tls_error.h"

namespace eccl::transport::tcp {
namespace {

using protocol::ChunkHeader;
using protocol::FrameHeader;
using protocol::kFrameHeaderSize;
using protocol::MessageType;

// Bytes a connection moves per turn before yielding its thread to other connections.
constexpr uint64_t kTurnBudget = 8u << 20;
constexpr size_t kDiscardBufferSize = 64u << 10;
// How long a gracefully stopped connection waits for the peer's FIN.
constexpr auto kLinger = std::chrono::seconds(2);

int64_t nowTicks() {
  return FrameConnection::Clock::now().time_since_epoch().count();
}

std::string describeIoError(const std::error_code& ec) {
  if (ec == asio::error::eof) return "the peer closed the connection";
  if (ec == asio::error::connection_reset) return "the connection was reset by the peer";
  if (ec == asio::error::broken_pipe) return "the connection broke (peer gone)";
  if (ec == asio::error::timed_out) return "the connection timed out in the kernel";
  return ec.message();
}

// What a failed read or write means: the other side proving it is not of this
// cluster (its secret or certificate refused, or ours by it) is an
// authentication failure; anything else, a broken connection.
Status streamError(const std::error_code& ec) {
  if (auth::isAuthRejection(ec)) return authError(ec.message());
  if (tls::isIdentityRefusal(ec)) return authError("TLS: " + ec.message());
  return connectionError(describeIoError(ec));
}

}  // namespace

std::unique_ptr<OutgoingFrame> OutgoingFrame::makeControl(MessageType type,
                                                          std::vector<uint8_t> frame) {
  auto out = std::make_unique<OutgoingFrame>();
  out->kind = Kind::kControl;
  out->type = type;
  out->control = std::move(frame);
  return out;
}

std::span<const uint8_t> OutgoingFrame::head() const {
  if (kind == Kind::kControl) return control;
  return chunk_head;
}

FrameConnection::FrameConnection(std::unique_ptr<ByteStream> stream, int index,
                                 size_t read_low_water)
    : stream_(std::move(stream)),
      executor_(stream_->executor()),
      index_(index),
      read_low_water_(std::max<size_t>(read_low_water, 1)),
      remote_(stream_->remoteAddress()),
      last_rx_(nowTicks()),
      last_tx_(nowTicks()) {}

FrameConnection::~FrameConnection() {
  // The stream's own waits (a TLS handshake, the shared-memory offer) run on
  // its strand and hold no reference to it, only a weak "alive" token: they
  // may run on an I/O thread while the last owner lets go on another. So the
  // stream dies on its strand, after any such wait, never beside one (TSan saw
  // a TlsStream destroyed beside its handshake wait). On the strand already:
  // now. After the I/O context's shutdown the strand destroys it at once.
  auto executor = stream_->executor();  // taken first: the capture below empties stream_
  asio::dispatch(executor, [stream = std::move(stream_)] {});
}

std::string FrameConnection::describe() const {
  if (index_ < 0) return "connection from " + remote_;  // before its Hello numbered it
  return "connection " + std::to_string(index_) + " to " + remote_;
}

void FrameConnection::start(std::shared_ptr<ConnectionDelegate> delegate) {
  asio::post(stream_->executor(), [self = shared_from_this(), d = std::move(delegate)]() mutable {
    if (self->stopped_) {
      // Stopped before it started: the owner still hears that it ended.
      d->onConnectionStopped(*self);
      return;
    }
    self->delegate_ = std::move(d);
    self->started_ = true;
    self->pumpRead();
    self->pumpWrite();
  });
}

void FrameConnection::attach(std::shared_ptr<ConnectionDelegate> delegate) {
  asio::post(stream_->executor(), [self = shared_from_this(), d = std::move(delegate)]() mutable {
    if (self->stopped_) {
      // Too late: tell the new owner this connection is gone.
      d->onConnectionStopped(*self);
      return;
    }
    self->delegate_ = std::move(d);
    if (self->failed_) {
      // It failed while changing hands: the new owner must hear of it.
      self->delegate_->onConnectionError(*self, self->failure_);
      return;
    }
    self->read_paused_ = false;
    if (!self->read_waiting_ && !self->read_posted_) self->pumpRead();
    if (!self->write_waiting_ && !self->write_posted_) {
      self->parked_ = false;
      self->pumpWrite();
    }
  });
}

void FrameConnection::wakeWriter() {
  asio::post(stream_->executor(), [self = shared_from_this()] {
    if (self->stopped_ || !self->parked_) return;
    self->parked_ = false;
    self->pumpWrite();
  });
}

void FrameConnection::detach(const ChunkRef& chunk) {
  asio::post(stream_->executor(), [self = shared_from_this(), chunk] {
    OutgoingFrame* frame = self->current_.get();
    if (self->stopped_ || frame == nullptr || frame->kind != OutgoingFrame::Kind::kChunk ||
        !frame->uses_caller_memory || frame->chunk.message != chunk.message ||
        frame->chunk.seq != chunk.seq) {
      return;  // already written (onFrameWritten said so) or never here
    }
    auto copy = std::make_unique<uint8_t[]>(std::max<uint64_t>(frame->payload_size, 1));
    if (frame->payload_size > 0) std::memcpy(copy.get(), frame->payload, frame->payload_size);
    frame->private_payload = std::move(copy);
    frame->payload = frame->private_payload.get();
    frame->uses_caller_memory = false;
    self->delegate_->onDetached(*self, frame->chunk);
  });
}

void FrameConnection::dropRead(uint64_t token) {
  asio::post(stream_->executor(), [self = shared_from_this(), token] {
    if (self->stopped_ || !self->delegate_) return;
    // Reads happen on this strand only, so none is half done here.
    if (self->read_state_ == ReadState::kChunkPayload && self->target_.token == token) {
      self->target_.destination = nullptr;  // readTarget() turns to the discard buffer
    }
    self->delegate_->onReadDropped(*self, token);
  });
}

void FrameConnection::setPacingRate(uint64_t bytes_per_s) {
  new_pacing_rate_.store(bytes_per_s, std::memory_order_release);
  asio::post(stream_->executor(), [self = shared_from_this()] { self->applyPacingRate(); });
}

void FrameConnection::applyPacingRate() {
  if (stopped_) return;  // the stream is closed
  const uint64_t rate = new_pacing_rate_.exchange(kNoNewPacingRate, std::memory_order_acq_rel);
  if (rate != kNoNewPacingRate) stream_->setPacingRate(rate);
}

void FrameConnection::stop() {
  asio::post(stream_->executor(), [self = shared_from_this()] { self->stopOnStrand(false); });
}

void FrameConnection::abort() {
  asio::post(stream_->executor(), [self = shared_from_this()] { self->stopOnStrand(true); });
}

void FrameConnection::stopOnStrand(bool reset) {
  if (stopped_) return;
  stopped_ = true;
  if (reset) {
    stream_->abort();
  } else {
    lingerThenClose();
  }
  current_.reset();
  unwritten_.store(0, std::memory_order_relaxed);
  idle_.store(true, std::memory_order_relaxed);
  auto delegate = std::move(delegate_);
  if (delegate) delegate->onConnectionStopped(*this);
}

// Closing a socket with unread bytes, or one that bytes still reach, makes the
// kernel answer with a reset; a peer whose write then fails may drop what it
// had not read yet: this side's last frames, the Goodbye that says why the
// channel closed. So a graceful stop ends only the sending side, and reads
// (and drops) until the peer closes too.
void FrameConnection::lingerThenClose() {
  stream_->shutdownSend();
  auto linger = std::make_shared<asio::steady_timer>(stream_->executor());
  linger->expires_after(kLinger);
  linger->async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec) self->stream_->close();
  });
  drainUntilClosed(std::move(linger));
}

void FrameConnection::drainUntilClosed(std::shared_ptr<asio::steady_timer> linger) {
  if (!discard_buf_) discard_buf_ = std::make_unique<uint8_t[]>(kDiscardBufferSize);
  uint64_t budget = kTurnBudget;
  while (true) {
    std::error_code ec;
    const size_t n = stream_->readSome({discard_buf_.get(), kDiscardBufferSize}, ec);
    if (isWouldBlock(ec)) {
      // A failed wait (the linger closed the stream) ends in the read below.
      stream_->waitReadable(
          [self = shared_from_this(), linger](std::error_code) { self->drainUntilClosed(linger); });
      return;
    }
    if (ec) {  // the peer's FIN, or the stream is closed or broken: done
      linger->cancel();
      stream_->close();
      return;
    }
    if (n >= budget) {
      asio::post(stream_->executor(),
                 [self = shared_from_this(), linger] { self->drainUntilClosed(linger); });
      return;
    }
    budget -= n;
  }
}

void FrameConnection::fail(Status error) {
  if (failed_ || stopped_) return;
  failed_ = true;
  failure_ = error.withContext(describe());
  if (delegate_) {
    delegate_->onConnectionError(*this, failure_);
  } else {
    stopOnStrand(true);
  }
}

// ---- Reader ---------------------------------------------------------------

std::span<uint8_t> FrameConnection::readTarget() {
  const size_t owed = bytesToFinishReadUnit();
  switch (read_state_) {
    case ReadState::kFrameHeader:
    case ReadState::kChunkHeader:
      return std::span(head_buf_).subspan(head_have_, owed);
    case ReadState::kControlPayload:
      return std::span(control_buf_).subspan(payload_have_, owed);
    case ReadState::kChunkPayload:
      if (target_.destination != nullptr) return {target_.destination + payload_have_, owed};
      if (!discard_buf_) discard_buf_ = std::make_unique<uint8_t[]>(kDiscardBufferSize);
      return {discard_buf_.get(), std::min<size_t>(owed, kDiscardBufferSize)};
  }
  return {};
}

size_t FrameConnection::bytesToFinishReadUnit() const {
  switch (read_state_) {
    case ReadState::kFrameHeader:
      return kFrameHeaderSize - head_have_;
    case ReadState::kChunkHeader:
      return OutgoingFrame::kChunkHeadSize - head_have_;
    case ReadState::kControlPayload:
      return control_buf_.size() - payload_have_;
    case ReadState::kChunkPayload:
      return static_cast<size_t>(frame_.length - ChunkHeader::kEncodedSize - payload_have_);
  }
  return 1;
}

void FrameConnection::pumpRead() {
  sampleSendBusy();
  uint64_t budget = kTurnBudget;
  while (!stopped_ && !failed_ && !read_paused_) {
    std::span<uint8_t> into = readTarget();
    std::error_code ec;
    size_t n = readSome(into, ec);
    if (isWouldBlock(ec)) {
      read_waiting_ = true;
      stream_->setReadLowWater(std::min(bytesToFinishReadUnit(), read_low_water_));
      stream_->waitReadable([self = shared_from_this()](std::error_code wait_ec) {
        self->read_waiting_ = false;
        if (self->stopped_ || self->failed_) return;
        if (wait_ec) {
          self->fail(connectionError(describeIoError(wait_ec)));
          return;
        }
        self->pumpRead();
      });
      return;
    }
    if (ec) {
      fail(streamError(ec));
      return;
    }
    if (!advanceRead(n)) return;
    if (n >= budget) {
      read_posted_ = true;
      asio::post(stream_->executor(), [self = shared_from_this()] {
        self->read_posted_ = false;
        self->pumpRead();
      });
      return;
    }
    budget -= n;
  }
}

size_t FrameConnection::readSome(std::span<uint8_t> into, std::error_code& ec) {
  if (into.empty()) return 0;
  if (ahead_begin_ == ahead_end_) {
    // Over shared memory or RDMA a read copies from a ring, no system call to
    // save: reading ahead would only copy the bytes twice.
    const bool read_ahead =
        into.size() < kReadAhead && !stream_->sharedMemory() && !stream_->rdma();
    if (!read_ahead) return countReceived(stream_->readSome(into, ec), ec);
    if (!ahead_buf_) ahead_buf_ = std::make_unique<uint8_t[]>(kReadAhead);
    ahead_begin_ = 0;
    ahead_end_ = countReceived(stream_->readSome({ahead_buf_.get(), kReadAhead}, ec), ec);
    if (ahead_end_ == 0) return 0;  // ec says why: would block, the end, an error
  }
  const size_t n = std::min(into.size(), ahead_end_ - ahead_begin_);
  std::memcpy(into.data(), ahead_buf_.get() + ahead_begin_, n);
  ahead_begin_ += n;
  return n;
}

size_t FrameConnection::countReceived(size_t n, const std::error_code& ec) {
  if (ec) return 0;
  if (n > 0) {
    last_rx_.store(nowTicks(), std::memory_order_relaxed);
    bytes_received_.fetch_add(n, std::memory_order_relaxed);
  }
  return n;
}

bool FrameConnection::advanceRead(size_t n) {
  switch (read_state_) {
    case ReadState::kFrameHeader:
      head_have_ += n;
      return head_have_ < kFrameHeaderSize || finishFrameHeader();
    case ReadState::kChunkHeader:
      head_have_ += n;
      return head_have_ < OutgoingFrame::kChunkHeadSize || finishChunkHeader();
    case ReadState::kControlPayload:
      payload_have_ += n;
      return payload_have_ < control_buf_.size() || finishControlPayload();
    case ReadState::kChunkPayload: {
      if (frame_.has(protocol::kFlagChecksum)) {
        const uint8_t* start = target_.destination != nullptr ? target_.destination + payload_have_
                                                              : discard_buf_.get();
        checksum_.update({start, n});
      }
      payload_have_ += n;
      return payload_have_ < frame_.length - ChunkHeader::kEncodedSize || finishChunkPayload();
    }
  }
  return false;
}

bool FrameConnection::finishFrameHeader() {
  auto header = protocol::decodeFrameHeader(std::span(head_buf_).first(kFrameHeaderSize));
  if (!header) {
    fail(header.status().withContext("bad frame"));
    return false;
  }
  frame_ = *header;
  payload_have_ = 0;
  if (!delegate_->acceptsFrame(frame_.type)) {
    fail(protocolError("bad frame: " + std::string(protocol::messageTypeName(frame_.type)) +
                       " is not expected here"));
    return false;
  }
  if (frame_.type == MessageType::kChunk) {
    if (frame_.length < ChunkHeader::kEncodedSize) {
      fail(protocolError("bad frame: Chunk payload shorter than its header"));
      return false;
    }
    read_state_ = ReadState::kChunkHeader;
    return true;
  }
  control_buf_.resize(frame_.length);
  read_state_ = ReadState::kControlPayload;
  return frame_.length > 0 || finishControlPayload();
}

bool FrameConnection::finishChunkHeader() {
  const uint64_t payload_size = frame_.length - ChunkHeader::kEncodedSize;
  auto header_bytes = std::span(head_buf_).subspan(kFrameHeaderSize, ChunkHeader::kEncodedSize);
  auto chunk = protocol::decodeChunkHeader(header_bytes, payload_size);
  if (!chunk) {
    fail(chunk.status().withContext("bad frame"));
    return false;
  }
  chunk_ = *chunk;
  if (frame_.has(protocol::kFlagChecksum)) {
    checksum_.reset();
    checksum_.update(header_bytes);
  }
  auto target = delegate_->onChunkHeader(*this, frame_, chunk_);
  if (!target) {
    fail(target.status());
    return false;
  }
  target_ = *target;
  payload_have_ = 0;
  read_state_ = ReadState::kChunkPayload;
  return payload_size > 0 || finishChunkPayload();
}

bool FrameConnection::finishChunkPayload() {
  Status payload_status;
  if (frame_.has(protocol::kFlagChecksum) && checksum_.digest() != frame_.checksum) {
    payload_status = protocolError("Chunk of stream " + std::to_string(chunk_.stream) +
                                   " fails its payload checksum (corrupted in transit)");
  }
  read_state_ = ReadState::kFrameHeader;
  head_have_ = 0;
  Status handled = delegate_->onChunkPayload(*this, target_, payload_status);
  target_ = {};
  if (!handled.isOk()) {
    fail(std::move(handled));
    return false;
  }
  return true;
}

bool FrameConnection::finishControlPayload() {
  read_state_ = ReadState::kFrameHeader;
  head_have_ = 0;
  Status checked = protocol::verifyChecksum(frame_, control_buf_);
  if (checked.isOk()) checked = delegate_->onControlFrame(*this, frame_, control_buf_);
  if (!checked.isOk()) {
    fail(std::move(checked));
    return false;
  }
  return true;
}

// ---- Writer ---------------------------------------------------------------

void FrameConnection::sampleSendBusy() {
  const Clock::time_point now = Clock::now();
  if (now - busy_sampled_ < kSendBusySamplePeriod) return;
  busy_sampled_ = now;
  send_busy_ns_.store(static_cast<uint64_t>(stream_->sendBusyTime().count()),
                      std::memory_order_relaxed);
}

void FrameConnection::pumpWrite() {
  sampleSendBusy();
  uint64_t budget = kTurnBudget;
  while (!stopped_ && !failed_ && delegate_) {
    if (!current_) {
      current_ = delegate_->nextFrame(*this);
      if (!current_) {
        parked_ = true;
        idle_.store(true, std::memory_order_relaxed);
        unwritten_.store(0, std::memory_order_relaxed);
        return;
      }
      idle_.store(false, std::memory_order_relaxed);
      frame_started_.store(nowTicks(), std::memory_order_relaxed);
      unwritten_.store(current_->size(), std::memory_order_relaxed);
    }
    OutgoingFrame& frame = *current_;
    std::span<const uint8_t> head = frame.head();
    std::span<const uint8_t> first, second;
    if (frame.written < head.size()) {
      first = head.subspan(frame.written);
      if (frame.kind == OutgoingFrame::Kind::kChunk) second = {frame.payload, frame.payload_size};
    } else {
      first = {frame.payload + (frame.written - head.size()),
               static_cast<size_t>(frame.payload_size - (frame.written - head.size()))};
    }
    if (new_pacing_rate_.load(std::memory_order_acquire) != kNoNewPacingRate) applyPacingRate();
    std::error_code ec;
    size_t n = stream_->writeSome(first, second, ec);
    if (isWouldBlock(ec)) {
      write_waiting_ = true;
      stream_->waitWritable([self = shared_from_this()](std::error_code wait_ec) {
        self->write_waiting_ = false;
        if (self->stopped_ || self->failed_) return;
        if (wait_ec) {
          self->fail(connectionError(describeIoError(wait_ec)));
          return;
        }
        self->pumpWrite();
      });
      return;
    }
    if (ec) {
      fail(streamError(ec));
      return;
    }
    frame.written += n;
    bytes_sent_.fetch_add(n, std::memory_order_relaxed);
    last_tx_.store(nowTicks(), std::memory_order_relaxed);
    unwritten_.store(frame.size() - frame.written, std::memory_order_relaxed);
    if (frame.written == frame.size()) {
      if (frame.kind == OutgoingFrame::Kind::kChunk) {
        chunks_sent_.fetch_add(1, std::memory_order_relaxed);
      }
      std::unique_ptr<OutgoingFrame> done = std::move(current_);
      delegate_->onFrameWritten(*this, *done);
    }
    if (n >= budget) {
      write_posted_ = true;
      asio::post(stream_->executor(), [self = shared_from_this()] {
        self->write_posted_ = false;
        self->pumpWrite();
      });
      return;
    }
    budget -= n;
  }
}

}  // namespace eccl::transport::tcp
