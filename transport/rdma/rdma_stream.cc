#include "transport/rdma/rdma_stream.h"

#include <asio/error.hpp>
#include <asio/post.hpp>
#include <cstring>

#include "transport/rdma/rdma_errors.h"
#include "transport/rdma/ring_immediate.h"
#include "transport/stream_errors.h"

namespace eccl::transport::rdma {
namespace {

// Copies `bytes` into `ring` from offset `at` on, going on at its start.
void copyIntoRing(std::span<uint8_t> ring, uint64_t at, std::span<const uint8_t> bytes) {
  if (bytes.empty()) return;  // may have no data pointer at all
  const uint64_t before_wrap = std::min<uint64_t>(bytes.size(), ring.size() - at);
  std::memcpy(ring.data() + at, bytes.data(), before_wrap);
  std::memcpy(ring.data(), bytes.data() + before_wrap, bytes.size() - before_wrap);
}

// Fills `into` from `ring` at offset `at` on, going on at its start.
void copyOutOfRing(std::span<const uint8_t> ring, uint64_t at, std::span<uint8_t> into) {
  const uint64_t before_wrap = std::min<uint64_t>(into.size(), ring.size() - at);
  std::memcpy(into.data(), ring.data() + at, before_wrap);
  std::memcpy(into.data() + before_wrap, ring.data(), into.size() - before_wrap);
}

}  // namespace

RdmaStream::RdmaStream(std::unique_ptr<ByteStream> inner, std::unique_ptr<QueuePair> qp)
    : inner_(std::move(inner)),
      qp_(std::move(qp)),
      events_(inner_->executor(), qp_->eventFd()),
      send_ring_bytes_(qp_->sendStaging().size()),
      receive_ring_bytes_(qp_->receiveRing().size()),
      pace_(inner_->executor()) {
  // Both waits stay armed while the stream is open: a dead peer and owed
  // credits must be noticed even while nobody reads or writes.
  asio::post(inner_->executor(), [this, alive = std::weak_ptr<int>(alive_)] {
    if (!alive.expired()) armWaits();
  });
}

RdmaStream::~RdmaStream() {
  // The event fd belongs to the queue pair: cancel the wait, never close it.
  std::error_code ignored;
  events_.cancel(ignored);
  events_.release();
}

// ---- events --------------------------------------------------------------------

void RdmaStream::pollEvents(bool call_now) {
  if (!failure_ && !closed_) {
    polled_.clear();
    const Status polled = qp_->poll(polled_);
    for (const QueuePairEvent& event : polled_) {
      if (event.kind == QueuePairEvent::Kind::kSent) {
        if (outstanding_ > 0) --outstanding_;
      } else {
        onImmediate(event.immediate);
      }
    }
    if (!polled.isOk()) fail(make_error_code(RdmaErrc::kQueuePairFailed));
    postOwed();
  }
  settleWaiters(call_now);
}

void RdmaStream::onImmediate(uint32_t value) {
  const auto immediate = RingImmediate::decode(value);
  if (!immediate) return fail(make_error_code(RdmaErrc::kBrokenProtocol));
  switch (immediate->kind) {
    case RingImmediate::Kind::kData:
      // More than the ring holds, or bytes after the end: not our protocol.
      if (end_received_ || landed_ + immediate->bytes - read_ > receive_ring_bytes_) {
        return fail(make_error_code(RdmaErrc::kBrokenProtocol));
      }
      landed_ += immediate->bytes;
      return;
    case RingImmediate::Kind::kCredit:
      return;  // the credit word says how far; room() reads it
    case RingImmediate::Kind::kEnd:
      if (end_received_) return fail(make_error_code(RdmaErrc::kBrokenProtocol));
      end_received_ = true;
      return;
  }
}

uint64_t RdmaStream::room() {
  const uint64_t credit = qp_->creditWord();
  // The other end credits bytes it read: never more than were sent, never back.
  if (credit < credit_seen_ || credit > sent_) {
    fail(make_error_code(RdmaErrc::kBrokenProtocol));
    return 0;
  }
  credit_seen_ = credit;
  return send_ring_bytes_ - (sent_ - credit);
}

uint32_t RdmaStream::freeWriteSlots() const {
  const uint32_t for_writes = qp_->sendSlots() - 1;
  return outstanding_ < for_writes ? for_writes - outstanding_ : 0;
}

void RdmaStream::postOwed() {
  if (failure_ || closed_) return;
  const bool credit_owed = read_ - credited_ >= receive_ring_bytes_ / 4;
  if (credit_owed && outstanding_ < qp_->sendSlots()) {
    if (!qp_->postCredit(read_, RingImmediate::credit()).isOk()) {
      return fail(make_error_code(RdmaErrc::kQueuePairFailed));
    }
    ++outstanding_;
    credited_ = read_;
  }
  if (end_owed_ && outstanding_ < qp_->sendSlots()) {
    if (!qp_->postWrite(0, 0, RingImmediate::end()).isOk()) {
      return fail(make_error_code(RdmaErrc::kQueuePairFailed));
    }
    ++outstanding_;
    end_owed_ = false;
  }
}

void RdmaStream::fail(std::error_code why) {
  if (failure_) return;
  failure_ = why;
  releaseWaiters({});
}

// ---- reading and writing ------------------------------------------------------

size_t RdmaStream::readSome(std::span<uint8_t> into, std::error_code& ec) {
  ec.clear();
  if (closed_) {
    ec = asio::error::bad_descriptor;
    return 0;
  }
  if (landed_ == read_) pollEvents(/*call_now=*/false);
  if (failure_) {
    ec = failure_;
    return 0;
  }
  const uint64_t n = std::min<uint64_t>(into.size(), landed_ - read_);
  if (n == 0) {
    if (end_received_) {
      ec = asio::error::eof;
    } else if (socket_error_) {
      ec = socket_error_;
    } else {
      ec = asio::error::would_block;
    }
    return 0;
  }
  copyOutOfRing(qp_->receiveRing(), read_ % receive_ring_bytes_, into.first(n));
  read_ += n;
  postOwed();
  if (failure_) {
    ec = failure_;
    return 0;
  }
  return n;
}

size_t RdmaStream::writeSome(std::span<const uint8_t> first, std::span<const uint8_t> second,
                             std::error_code& ec) {
  ec.clear();
  if (closed_) {
    ec = asio::error::bad_descriptor;
    return 0;
  }
  if (failure_) {
    ec = failure_;
    return 0;
  }
  if (send_closed_ || socket_error_) {
    ec = asio::error::broken_pipe;
    return 0;
  }
  uint64_t limit = std::min<uint64_t>(first.size() + second.size(), RingImmediate::kMaxDataBytes);
  limit = pace_.grant(limit);
  uint64_t space = room();
  if (!failure_ && (space < limit || freeWriteSlots() == 0)) {
    pollEvents(/*call_now=*/false);  // credits and completions may be waiting
    if (!failure_) space = room();
  }
  if (failure_) {
    ec = failure_;
    return 0;
  }
  const uint32_t slots = freeWriteSlots();
  const uint64_t at = sent_ % send_ring_bytes_;
  uint64_t n = std::min(limit, space);
  // Across the ring's end it takes two writes; with one slot, stop at the end.
  if (slots < 2) n = std::min(n, send_ring_bytes_ - at);
  if (n == 0 || slots == 0) {
    ec = asio::error::would_block;
    return 0;
  }
  // Into the staging buffer at the bytes' offsets in the other end's ring.
  uint64_t copied = 0;
  for (std::span<const uint8_t> piece : {first, second}) {
    piece = piece.first(std::min<uint64_t>(piece.size(), n - copied));
    copyIntoRing(qp_->sendStaging(), (at + copied) % send_ring_bytes_, piece);
    copied += piece.size();
  }
  // One immediate, on the last write: the other end counts the bytes once all landed.
  const uint64_t before_wrap = std::min(n, send_ring_bytes_ - at);
  Status posted = Status::ok();
  if (before_wrap < n) {
    posted = qp_->postWrite(at, before_wrap, std::nullopt);
    if (posted.isOk()) {
      ++outstanding_;
      posted = qp_->postWrite(0, n - before_wrap, RingImmediate::data(static_cast<uint32_t>(n)));
    }
  } else {
    posted = qp_->postWrite(at, n, RingImmediate::data(static_cast<uint32_t>(n)));
  }
  if (!posted.isOk()) {
    fail(make_error_code(RdmaErrc::kQueuePairFailed));
    ec = failure_;
    return 0;
  }
  ++outstanding_;
  sent_ += n;
  pace_.spend(n);
  return n;
}

bool RdmaStream::canRead() const {
  return failure_ || socket_error_ || end_received_ || landed_ != read_;
}

bool RdmaStream::canWrite() {
  if (failure_ || socket_error_ || send_closed_) return true;
  return freeWriteSlots() > 0 && room() > 0;
}

void RdmaStream::waitReadable(WaitHandler ready) {
  if (closed_ || canRead()) return post(std::move(ready));
  read_waiter_ = std::move(ready);
  pollEvents(/*call_now=*/false);
}

void RdmaStream::waitWritable(WaitHandler ready) {
  if (closed_ || failure_ || socket_error_ || send_closed_) return post(std::move(ready));
  if (!pace_.usefulWriteAllowed()) {
    return waitForTokens(std::move(ready));
  }
  if (canWrite()) return post(std::move(ready));
  write_waiter_ = std::move(ready);
  write_wait_started_ = std::chrono::steady_clock::now();
  pollEvents(/*call_now=*/false);
}

// Wakes the waiters whose condition now holds: at once from the event or
// socket wait's handler, posted from inside waitReadable/waitWritable (no
// re-entry into the caller).
void RdmaStream::settleWaiters(bool call_now) {
  WaitHandler reader = read_waiter_ && canRead() ? std::exchange(read_waiter_, nullptr) : nullptr;
  WaitHandler writer =
      write_waiter_ && canWrite() ? std::exchange(write_waiter_, nullptr) : nullptr;
  if (writer) write_wait_time_ += std::chrono::steady_clock::now() - write_wait_started_;
  for (WaitHandler* ready : {&reader, &writer}) {
    if (!*ready) continue;
    if (call_now) {
      (*ready)({});
    } else {
      post(std::move(*ready));
    }
  }
}

void RdmaStream::armWaits() {
  armEventWait();
  armSocketWait();
}

void RdmaStream::armEventWait() {
  if (event_wait_armed_ || closed_ || failure_) return;
  event_wait_armed_ = true;
  auto fired = std::make_shared<bool>(false);
  events_.async_wait(asio::posix::stream_descriptor::wait_read,
                     [this, alive = std::weak_ptr<int>(alive_), fired,
                      guard = releaseIfNeverRun(fired)](std::error_code ec) {
                       *fired = true;
                       if (alive.expired()) return;
                       event_wait_armed_ = false;
                       if (ec || closed_) return;  // cancelled by close
                       pollEvents(/*call_now=*/true);
                       if (alive.expired()) return;  // a woken waiter let the stream go
                       armEventWait();
                     });
}

void RdmaStream::armSocketWait() {
  if (socket_wait_armed_ || closed_ || failure_ || socket_error_) return;
  socket_wait_armed_ = true;
  auto fired = std::make_shared<bool>(false);
  inner_->waitReadable([this, alive = std::weak_ptr<int>(alive_), fired,
                        guard = releaseIfNeverRun(fired)](std::error_code ec) {
    *fired = true;
    if (alive.expired()) return;
    socket_wait_armed_ = false;
    if (closed_) return;
    onSocketReadable(ec);
  });
}

// The socket carries nothing once RDMA carries the bytes: its end is the
// peer's, anything else on it breaks the protocol.
void RdmaStream::onSocketReadable(std::error_code ec) {
  if (!ec) {
    uint8_t byte = 0;
    const size_t n = inner_->readSome({&byte, 1}, ec);
    if (isWouldBlock(ec)) return armSocketWait();
    if (!ec && n > 0) return fail(make_error_code(RdmaErrc::kBytesOnSocket));
    if (!ec) ec = asio::error::eof;
  }
  socket_error_ = ec;
  // What landed before the peer went still counts: take it in, then wake.
  pollEvents(/*call_now=*/true);
}

void RdmaStream::releaseWaiters(std::error_code ec) {
  for (WaitHandler* waiter : {&read_waiter_, &write_waiter_}) {
    if (*waiter) post(std::exchange(*waiter, nullptr), ec);
  }
}

std::shared_ptr<void> RdmaStream::releaseIfNeverRun(std::shared_ptr<bool> fired) {
  return std::shared_ptr<void>(
      nullptr, [this, alive = std::weak_ptr<int>(alive_), fired = std::move(fired)](void*) {
        if (*fired || alive.expired()) return;
        // Moved out first: letting them go may destroy this stream.
        WaitHandler reader = std::move(read_waiter_);
        WaitHandler writer = std::move(write_waiter_);
      });
}

void RdmaStream::post(WaitHandler ready, std::error_code ec) {
  asio::post(inner_->executor(), [ready = std::move(ready), ec] { ready(ec); });
}

// ---- the rest of ByteStream -----------------------------------------------------

void RdmaStream::stop() {
  closed_ = true;
  pace_.cancel();
  std::error_code ignored;
  events_.cancel(ignored);
}

void RdmaStream::close() {
  stop();
  inner_->close();
  releaseWaiters(asio::error::operation_aborted);
}

void RdmaStream::abort() {
  stop();
  inner_->abort();
  releaseWaiters(asio::error::operation_aborted);
}

void RdmaStream::shutdownSend() {
  if (send_closed_ || closed_) return;
  send_closed_ = true;
  end_owed_ = true;
  postOwed();
  settleWaiters(/*call_now=*/false);  // a waiting writer learns of it
}

void RdmaStream::setPacingRate(uint64_t bytes_per_s) {
  pace_.setRate(bytes_per_s);  // a writer waiting for tokens re-checks
}

void RdmaStream::waitForTokens(WaitHandler ready) {
  pace_.sleep([this, ready = std::move(ready)] {
    ready(closed_ ? asio::error::operation_aborted : std::error_code());
  });
}

std::chrono::nanoseconds RdmaStream::sendBusyTime() {
  auto busy = write_wait_time_ + pace_.slept();  // paced: the link is "busy"
  if (write_waiter_) busy += std::chrono::steady_clock::now() - write_wait_started_;
  return busy;
}

}  // namespace eccl::transport::rdma
