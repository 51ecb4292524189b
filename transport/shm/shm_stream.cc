#include "transport/shm/shm_stream.h"

#include <asio/error.hpp>
#include <asio/post.hpp>

#include "src/common/log.h"
#include "transport/rdma/rdma_stream.h"
#include "transport/shm/host_id.h"
#include "transport/shm/shm_errors.h"
#include "transport/shm/shm_offer.h"
#include "transport/stream_errors.h"

namespace eccl::transport::shm {
namespace {

std::error_code negotiationError(const Status& status, std::span<const uint8_t> bytes) {
  if (status.code() == Code::kUnsupported) return make_error_code(ShmErrc::kUnsupported);
  return make_error_code(looksLikeNegotiation(bytes) ? ShmErrc::kBadMessage
                                                     : ShmErrc::kNotNegotiating);
}

// The RDMA exchange comes after the shared-memory one: the other side negotiates.
std::error_code rdmaNegotiationError(const Status& status) {
  return make_error_code(status.code() == Code::kUnsupported ? ShmErrc::kUnsupported
                                                             : ShmErrc::kBadMessage);
}

}  // namespace

ShmStream::ShmStream(std::unique_ptr<ByteStream> inner, ShmRole role, ShmSettings settings,
                     std::unique_ptr<rdma::RdmaNegotiation> rdma)
    : inner_(std::move(inner)),
      role_(role),
      settings_(settings),
      rdma_(std::move(rdma)),
      pace_(inner_->executor()) {
  // A server without RDMA still answers a client that offers it.
  if (!rdma_)
    rdma_ = std::make_unique<rdma::RdmaNegotiation>(rdma::RdmaSettings{}, inner_->remoteAddress());
  const bool offer = settings_.allow && thisHostId().has_value();
  if (role_ == ShmRole::kClient) {
    rdma_follows_ = rdma_->announce();
    Offer message;
    message.wants_shm = offer;
    message.spare = settings_.spare;
    message.rdma_follows = rdma_follows_;
    if (offer) message.host = *thisHostId();
    queue(encode(message));
    if (offer) {
      expect(Await::kAnswer, Answer::kSize);
    } else {
      notSharedMemory();  // once the offer is out: no answer to it comes back
    }
  } else {
    expect(Await::kOffer, Offer::kSize);
  }
}

ShmStream::~ShmStream() = default;

void ShmStream::expect(Await what, size_t bytes) {
  await_ = what;
  in_.assign(bytes, 0);
  in_have_ = 0;
}

void ShmStream::queue(std::span<const uint8_t> bytes) {
  out_.insert(out_.end(), bytes.begin(), bytes.end());
}

void ShmStream::pump() {
  while (!failure_ && mode_ == Mode::kNegotiating) {
    bool moved = false;
    while (out_written_ < out_.size()) {
      std::error_code ec;
      const size_t n =
          inner_->writeSome(std::span<const uint8_t>(out_).subspan(out_written_), {}, ec);
      if (isWouldBlock(ec)) break;
      if (ec) return fail(isPeerGone(ec) ? make_error_code(ShmErrc::kClosed) : ec);
      out_written_ += n;
      moved = true;
    }
    if (await_ != Await::kNothing) {
      std::error_code ec;
      const size_t n = inner_->readSome(std::span<uint8_t>(in_).subspan(in_have_), ec);
      if (ec && !isWouldBlock(ec)) {
        return fail(isPeerGone(ec) ? make_error_code(ShmErrc::kClosed) : ec);
      }
      if (!ec && n > 0) {
        in_have_ += n;
        moved = true;
        if (in_have_ == in_.size()) onAwaitedBytes();
      }
    }
    if (decided_ && await_ == Await::kNothing && out_written_ == out_.size()) {
      out_.clear();
      out_written_ = 0;
      mode_ = *decided_;
      if (mode_ == Mode::kWrapped) useRdmaIfChosen();
      if (mode_ == Mode::kShm) {
        // The socket carries doorbells only: no kernel pacing on it.
        if (pace_.capped()) inner_->setPacingRate(0);
        ECCL_LOG_DEBUG("connection with {} uses shared memory ({} byte rings)",
                       inner_->remoteAddress(), ring_bytes_);
      }
      break;
    }
    if (!moved) break;
  }
  if (parked_writer_ && (failure_ || writesOpen())) post(std::exchange(parked_writer_, nullptr));
  if (!failure_ && mode_ == Mode::kNegotiating && out_written_ < out_.size()) armFlushWait();
  // A reader that slept on the wrapped stream while the writer's call
  // finished the exchange: over shared memory nothing may ever come there.
  if (read_waiter_ && (failure_ || mode_ != Mode::kNegotiating)) {
    post(std::exchange(read_waiter_, nullptr));
  }
}

void ShmStream::onAwaitedBytes() {
  const Await what = std::exchange(await_, Await::kNothing);
  const std::span<const uint8_t> bytes(in_.data(), in_have_);
  switch (what) {
    case Await::kOffer:
      return onOffer(bytes);
    case Await::kAnswer:
      return onAnswer(bytes);
    case Await::kConfirm:
      return onConfirm(bytes);
    case Await::kRdmaOffer:
      return onRdmaOffer(bytes);
    case Await::kRdmaAnswer:
      return onRdmaAnswer(bytes);
    case Await::kRdmaConfirm:
      return onRdmaConfirm(bytes);
    case Await::kNothing:
      return;
  }
}

void ShmStream::onOffer(std::span<const uint8_t> bytes) {
  auto offer = decodeOffer(bytes);
  if (!offer) return fail(negotiationError(offer.status(), bytes));
  rdma_follows_ = offer->rdma_follows;
  if (!offer->wants_shm) {
    if (settings_.insist && settings_.allow) explainTcp("it does not use shared memory");
    return notSharedMemory();  // the client waits for no answer
  }
  Answer answer;
  const auto& here = thisHostId();
  if (!settings_.allow || !here) {
    // The client offered, this side does not: say TCP, quietly (its choice).
  } else if (offer->host != *here) {
    if (settings_.insist) explainTcp("it is on another host (or in another namespace)");
  } else {
    reapStaleSegments();
    const uint64_t ring_bytes = offer->spare ? SegmentLayout::kMinRingBytes : settings_.ring_bytes;
    auto segment = ShmSegment::create(SegmentLayout::bytes(ring_bytes));
    if (!segment) {
      explainTcp(segment.status().message());
    } else {
      segment_ = std::move(*segment);
      ring_bytes_ = ring_bytes;
      SegmentLayout::initialise(segment_->data(), ring_bytes_);
      answer.use_shm = true;
      answer.ring_bytes = ring_bytes_;
      answer.segment = segment_->name();
    }
  }
  queue(encode(answer));
  if (answer.use_shm) return expect(Await::kConfirm, Confirm::kSize);
  notSharedMemory();
}

void ShmStream::onAnswer(std::span<const uint8_t> bytes) {
  auto answer = decodeAnswer(bytes);
  if (!answer) return fail(negotiationError(answer.status(), bytes));
  if (!answer->use_shm) {
    if (settings_.insist) explainTcp("it is on another host, or does not use shared memory");
    return notSharedMemory();
  }
  if (answer->ring_bytes < SegmentLayout::kMinRingBytes ||
      answer->ring_bytes > SegmentLayout::kMaxRingBytes) {
    return fail(make_error_code(ShmErrc::kBadMessage));
  }
  auto segment = ShmSegment::open(answer->segment, SegmentLayout::bytes(answer->ring_bytes));
  if (segment && !SegmentLayout::matches((*segment)->data(), answer->ring_bytes)) {
    segment = protocolError(answer->segment + " does not hold ECCL rings of the announced size");
  }
  Confirm confirm;
  if (!segment) {
    explainTcp(segment.status().message());
  } else {
    segment_ = std::move(*segment);
    segment_->unlink();  // mapped on both sides: the name has served
    ring_bytes_ = answer->ring_bytes;
    confirm.mapped = true;
  }
  queue(encode(confirm));
  if (confirm.mapped) {
    useRings();
    return decide(Mode::kShm);
  }
  notSharedMemory();
}

void ShmStream::onConfirm(std::span<const uint8_t> bytes) {
  auto confirm = decodeConfirm(bytes);
  if (!confirm) return fail(negotiationError(confirm.status(), bytes));
  segment_->unlink();
  if (!confirm->mapped) {
    segment_.reset();
    return notSharedMemory();
  }
  useRings();
  decide(Mode::kShm);
}

void ShmStream::notSharedMemory() {
  if (!rdma_follows_) return decide(Mode::kWrapped);
  if (role_ == ShmRole::kClient) {
    queue(rdma_->offer());
    return expect(Await::kRdmaAnswer, rdma::RdmaAnswer::kSize);
  }
  expect(Await::kRdmaOffer, rdma::RdmaOffer::kSize);
}

void ShmStream::onRdmaOffer(std::span<const uint8_t> bytes) {
  auto answer = rdma_->answer(bytes);
  if (!answer) return fail(rdmaNegotiationError(answer.status()));
  queue(*answer);
  if (rdma_->awaitsConfirm()) return expect(Await::kRdmaConfirm, rdma::RdmaConfirm::kSize);
  decide(Mode::kWrapped);
}

void ShmStream::onRdmaAnswer(std::span<const uint8_t> bytes) {
  auto confirm = rdma_->confirm(bytes);
  if (!confirm) return fail(rdmaNegotiationError(confirm.status()));
  if (*confirm) queue(**confirm);
  decide(Mode::kWrapped);
}

void ShmStream::onRdmaConfirm(std::span<const uint8_t> bytes) {
  if (Status confirmed = rdma_->confirmed(bytes); !confirmed.isOk()) {
    return fail(rdmaNegotiationError(confirmed));
  }
  decide(Mode::kWrapped);
}

void ShmStream::useRdmaIfChosen() {
  std::unique_ptr<rdma::QueuePair> queue_pair = rdma_->takeChosen();
  if (!queue_pair) return;
  // RDMA writes bypass the kernel: a pacing rate moves from the socket to the RDMA stream.
  const uint64_t rate = pace_.rate();
  if (rate != 0) inner_->setPacingRate(0);
  inner_ = std::make_unique<rdma::RdmaStream>(std::move(inner_), std::move(queue_pair));
  if (rate != 0) inner_->setPacingRate(rate);
}

void ShmStream::useRings() {
  const int sending = role_ == ShmRole::kClient ? 0 : 1;
  tx_ = SegmentLayout::ring(segment_->data(), ring_bytes_, sending, segment_->name());
  rx_ = SegmentLayout::ring(segment_->data(), ring_bytes_, 1 - sending, segment_->name());
  // Each side sleeps on the doorbell of its own number, the direction it sends.
  peer_doorbell_ = &SegmentLayout::doorbell(segment_->data(), 1 - sending);
  doorbell_ = std::make_unique<DoorbellWaiter>(SegmentLayout::doorbell(segment_->data(), sending),
                                               inner_->executor());
}

void ShmStream::explainTcp(const std::string& why) {
  const std::string text =
      "connection with " + inner_->remoteAddress() + " stays on TCP, not shared memory: " + why;
  if (settings_.insist) {
    ECCL_LOG_WARN("{}", text);
  } else {
    ECCL_LOG_INFO("{}", text);
  }
}

void ShmStream::fail(std::error_code why) {
  if (failure_) return;
  failure_ = why;
  releaseWaiters({});
}

void ShmStream::post(WaitHandler ready, std::error_code ec) {
  asio::post(inner_->executor(), [ready = std::move(ready), ec] { ready(ec); });
}

// ---- reading and writing ------------------------------------------------------

bool ShmStream::readyForIo(std::error_code& ec) {
  if (mode_ == Mode::kNegotiating) pump();
  if (failure_) {
    ec = failure_;
  } else if (mode_ == Mode::kNegotiating) {
    ec = asio::error::would_block;
  } else if (mode_ == Mode::kShm && closed_) {
    ec = asio::error::bad_descriptor;
  }
  return !ec;
}

size_t ShmStream::readSome(std::span<uint8_t> into, std::error_code& ec) {
  ec.clear();
  if (!readyForIo(ec)) return 0;
  if (mode_ == Mode::kWrapped) return inner_->readSome(into, ec);
  const size_t n = rx_.read(into);
  if (rx_.corrupt()) {
    fail(make_error_code(ShmErrc::kCorruptRing));
    ec = failure_;
    return 0;
  }
  if (n > 0) {
    if (rx_.takeWriterSleeping()) ringDoorbell();
    return n;
  }
  if (rx_.writerClosed()) {
    ec = asio::error::eof;
  } else if (inner_error_) {
    ec = inner_error_;
  } else {
    ec = asio::error::would_block;
  }
  return 0;
}

size_t ShmStream::writeSome(std::span<const uint8_t> first, std::span<const uint8_t> second,
                            std::error_code& ec) {
  ec.clear();
  if (!readyForIo(ec)) return 0;
  if (mode_ == Mode::kWrapped) return inner_->writeSome(first, second, ec);
  if (send_closed_ || inner_error_) {
    ec = asio::error::broken_pipe;
    return 0;
  }
  if (pace_.capped()) {
    const uint64_t allowance = pace_.grant(first.size() + second.size());
    if (allowance == 0) {
      ec = asio::error::would_block;
      return 0;
    }
    first = first.first(std::min<size_t>(first.size(), allowance));
    second = second.first(std::min<size_t>(second.size(), allowance - first.size()));
  }
  const size_t n = tx_.write(first, second);
  pace_.spend(n);
  if (tx_.corrupt()) {
    fail(make_error_code(ShmErrc::kCorruptRing));
    ec = failure_;
    return 0;
  }
  if (n == 0) {
    ec = asio::error::would_block;
    return 0;
  }
  if (tx_.takeReaderSleeping()) ringDoorbell();
  return n;
}

void ShmStream::waitReadable(WaitHandler ready) {
  if (failure_ || closed_) return post(std::move(ready));
  if (mode_ == Mode::kWrapped) return inner_->waitReadable(std::move(ready));
  if (mode_ == Mode::kNegotiating) {
    // Held here rather than handed to the wrapped stream: should the writer
    // finish the exchange meanwhile, pump() releases it (see there). Bytes
    // of the exchange still to write wait in armFlushWait.
    read_waiter_ = std::move(ready);
    return armDoorbellWait();
  }
  if (inner_error_ || rx_.hasData()) return post(std::move(ready));
  read_waiter_ = std::move(ready);
  settleWaiters(/*call_now=*/false);
}

void ShmStream::waitWritable(WaitHandler ready) {
  if (failure_ || closed_) return post(std::move(ready));
  if (mode_ == Mode::kWrapped) return inner_->waitWritable(std::move(ready));
  if (mode_ == Mode::kNegotiating) {
    // The reader (and armFlushWait) move the exchange on; pump releases
    // this writer once it is over. The wrapped stream sees one writability
    // wait at a time, armFlushWait's: an AuthStream parks only one.
    parked_writer_ = std::move(ready);
    return;
  }
  if (!inner_error_ && !send_closed_ && !pace_.usefulWriteAllowed()) {
    return waitForTokens(std::move(ready));
  }
  if (inner_error_ || send_closed_ || tx_.hasRoom()) return post(std::move(ready));
  write_waiter_ = std::move(ready);
  write_wait_started_ = std::chrono::steady_clock::now();
  settleWaiters(/*call_now=*/false);
}

// ---- doorbells ----------------------------------------------------------------

void ShmStream::ringDoorbell() {
  if (closed_ || !peer_doorbell_) return;
  ringBell(*peer_doorbell_);
}

void ShmStream::armDoorbellWait(uint32_t seen) {
  armSocketWait();
  if (mode_ != Mode::kShm || !doorbell_) return;
  doorbell_->arm(seen, [this, alive = std::weak_ptr<int>(alive_)] {
    if (alive.expired() || closed_) return;
    settleWaiters(/*call_now=*/true);
  });
}

void ShmStream::armSocketWait() {
  if (socket_wait_armed_) return;
  socket_wait_armed_ = true;
  // The waiters this wait serves hold their connection, which holds this
  // stream: should the I/O context be destroyed with the wait pending (its
  // handler then never runs), the guard lets the waiters go, so that the
  // cycle does not outlive the transport.
  auto fired = std::make_shared<bool>(false);
  std::shared_ptr<void> guard(nullptr, [this, alive = std::weak_ptr<int>(alive_), fired](void*) {
    if (*fired || alive.expired()) return;
    // Moved out first: letting them go may destroy this stream.
    WaitHandler reader = std::move(read_waiter_);
    WaitHandler writer = std::move(write_waiter_);
    WaitHandler parked = std::move(parked_writer_);
  });
  inner_->waitReadable([this, alive = std::weak_ptr<int>(alive_), fired,
                        guard = std::move(guard)](std::error_code ec) {
    *fired = true;
    if (alive.expired()) return;
    socket_wait_armed_ = false;
    switch (mode_) {
      case Mode::kNegotiating:
        // Bytes of the exchange: the reader's next readSome takes them in.
        if (read_waiter_) std::exchange(read_waiter_, nullptr)(ec);
        return;
      case Mode::kWrapped:
        return;  // the exchange ended while this waited; the reader waits by itself now
      case Mode::kShm:
        return onDoorbell(ec);
    }
  });
}

void ShmStream::armFlushWait() {
  if (flush_wait_armed_) return;
  flush_wait_armed_ = true;
  inner_->waitWritable([this, alive = std::weak_ptr<int>(alive_)](std::error_code ec) {
    if (alive.expired()) return;
    flush_wait_armed_ = false;
    if (mode_ != Mode::kNegotiating) return;
    if (ec) return fail(ec);
    pump();  // re-arms itself while bytes of the exchange remain
  });
}

void ShmStream::onDoorbell(std::error_code ec) {
  if (ec) {
    releaseWaiters(ec);
    return;
  }
  settleWaiters(/*call_now=*/true);
}

// The doorbell's count is taken before the conditions are checked, so the
// wait armed below sleeps until a new ring instead of waking at once for an
// old one. A ring counted here came after its data or room was made, so the
// checks below see them; one rung after the count wakes the wait.
//
// Every waiter raises its flag again before the checks, not only when it
// starts waiting: the other side may have taken the flag down for bytes (or
// room) this side had already used, the flag being raised between its index
// store and its look at the flag. That doorbell wakes nobody, and a waiter
// whose flag stayed down would never hear of the next bytes.
void ShmStream::settleWaiters(bool call_now) {
  const uint32_t seen = doorbell_ ? doorbell_->seen() : 0;
  noticeSocketEnd();
  if (read_waiter_) rx_.sleepReader();
  if (write_waiter_) tx_.sleepWriter();
  const bool wake_reader = read_waiter_ && (inner_error_ || failure_ || rx_.hasData());
  const bool wake_writer =
      write_waiter_ && (inner_error_ || failure_ || send_closed_ || tx_.hasRoom());
  WaitHandler reader = wake_reader ? std::exchange(read_waiter_, nullptr) : nullptr;
  WaitHandler writer = wake_writer ? std::exchange(write_waiter_, nullptr) : nullptr;
  // A woken side takes its own flag down: no doorbell is owed to it now.
  if (reader) rx_.takeReaderSleeping();
  if (writer) {
    tx_.takeWriterSleeping();
    ring_full_time_ += std::chrono::steady_clock::now() - write_wait_started_;
  }
  if (read_waiter_ || write_waiter_) armDoorbellWait(seen);
  for (WaitHandler* ready : {&reader, &writer}) {
    if (!*ready) continue;
    if (call_now) {
      (*ready)({});
    } else {
      post(std::move(*ready));  // from inside waitReadable/waitWritable: no re-entry
    }
  }
}

void ShmStream::noticeSocketEnd() {
  if (inner_error_) return;
  uint8_t scratch[1];
  std::error_code ec;
  const size_t n = inner_->readSome(scratch, ec);
  if (isWouldBlock(ec)) return;
  if (ec) {
    inner_error_ = ec;
  } else if (n > 0) {
    inner_error_ = make_error_code(ShmErrc::kBadMessage);  // the exchange is over: nothing may come
  }
}

void ShmStream::releaseWaiters(std::error_code ec) {
  for (WaitHandler* waiter : {&read_waiter_, &write_waiter_, &parked_writer_}) {
    if (*waiter) post(std::exchange(*waiter, nullptr), ec);
  }
}

void ShmStream::stop() {
  closed_ = true;
  pace_.cancel();
  if (doorbell_) doorbell_->stop();
}

// ---- the rest of ByteStream -----------------------------------------------------

void ShmStream::close() {
  stop();
  inner_->close();
  releaseWaiters(asio::error::operation_aborted);
}

void ShmStream::shutdownSend() {
  if (mode_ != Mode::kShm) return inner_->shutdownSend();
  if (send_closed_) return;
  send_closed_ = true;
  tx_.closeWriter();
  // The reader may sleep: wake it to find the end (closeWriter is seq_cst).
  if (tx_.takeReaderSleeping()) ringDoorbell();
}

void ShmStream::abort() {
  stop();
  inner_->abort();
  releaseWaiters(asio::error::operation_aborted);
}

void ShmStream::setPacingRate(uint64_t bytes_per_s) {
  // Kept in every mode: a rate set while negotiating must hold once the
  // rings carry the bytes (pump then takes it off the socket).
  if (mode_ != Mode::kShm) inner_->setPacingRate(bytes_per_s);
  pace_.setRate(bytes_per_s);  // a writer waiting for tokens re-checks at the new rate
}

void ShmStream::setReadLowWater(size_t bytes) {
  if (mode_ == Mode::kWrapped) inner_->setReadLowWater(bytes);
}

void ShmStream::waitForTokens(WaitHandler ready) {
  pace_.sleep([this, ready = std::move(ready)] {
    ready(closed_ ? asio::error::operation_aborted : std::error_code());
  });
}

std::chrono::nanoseconds ShmStream::sendBusyTime() {
  if (mode_ != Mode::kShm) return inner_->sendBusyTime();
  auto busy = ring_full_time_ + pace_.slept();  // paced: the link is "busy"
  if (write_waiter_) busy += std::chrono::steady_clock::now() - write_wait_started_;
  return busy;
}

}  // namespace eccl::transport::shm
