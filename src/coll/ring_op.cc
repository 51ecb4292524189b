#include "src/coll/ring_op.h"

#include <algorithm>
#include <vector>

#include "src/coll/header_turns.h"
#include "src/coll/op_progress.h"
#include "src/common/log.h"

namespace eccl::coll {

namespace {

// A token says which transport operation completed: kind in the top byte,
// then the step and the chunk of a data message.
enum class Kind : uint64_t {
  kHeaderToNext = 1,
  kHeaderToPrev = 2,
  kHeaderFromPrev = 3,
  kHeaderFromNext = 4,
  kDataSend = 5,
  kDataRecv = 6,
};

// Whether a transport operation of this kind runs on the channel to the previous peer.
bool onPrevChannel(Kind kind) {
  return kind == Kind::kHeaderToPrev || kind == Kind::kHeaderFromPrev || kind == Kind::kDataRecv;
}

uint64_t token(Kind kind, uint32_t step = 0, uint32_t chunk = 0) {
  return (static_cast<uint64_t>(kind) << 56) | (uint64_t{step} << 24) | chunk;
}
Kind kindOf(uint64_t t) {
  return static_cast<Kind>(t >> 56);
}
uint32_t stepOf(uint64_t t) {
  return static_cast<uint32_t>((t >> 24) & 0xFFFFFFFF);
}
uint32_t chunkOf(uint64_t t) {
  return static_cast<uint32_t>(t & 0xFFFFFF);
}

// How long a failed op keeps its channels open so that a neighbour can still
// read this peer's header and learn of a mismatch itself.
constexpr auto kMismatchLinger = std::chrono::seconds(2);

}  // namespace

OpDigest withRing(OpDigest digest, const RingView& ring) {
  digest.revision = ring.revision;
  digest.world_size = ring.world_size;
  digest.rank = ring.rank;
  return digest;
}

RingOp::RingOp(const RingView& ring, const RingPlan& plan, const CollOptions& options,
               Clock::time_point deadline, OpState& state, const OpDigest& digest, std::string name)
    : ring_(ring),
      plan_(plan),
      options_(options),
      digest_(withRing(digest, ring)),
      element_(reduce::dtypeSize(digest.dtype)),
      deadline_(deadline),
      state_(state),
      name_(std::move(name)),
      key_{ring.revision, digest.tag, 0} {}

Status RingOp::channelFailure(const RingNeighbour& who, const Status& status,
                              const char* what) const {
  return Status(transferFailureCode(status.code()),
                name_ + ": " + what + " " + who.describe() + " failed: " + status.toString());
}

void RingOp::setCause(Status cause, bool from_channel) {
  if (failed_) {
    // A digest mismatch explains a channel the neighbour closed because of it.
    if (!(cause_from_channel_ && cause.code() == Code::kInvalidUsage && !from_channel)) return;
  }
  failed_ = true;
  cause_from_channel_ = from_channel;
  cause_ = std::move(cause);
}

void RingOp::start() {
  header_out_ = encodeOpHeader(digest_);
  for (uint32_t t = 0; t < plan_.steps(); ++t) {
    recvs_total_ += plan_.recvChunks(t);
    sends_total_ += plan_.sendChunks(t);
  }
  // Concurrent ops take turns on the header streams, in the order they started.
  if (ring_.header_turns != nullptr) {
    Status turn = ring_.header_turns->waitTurn(ring_.ticket, deadline_);
    if (!turn.isOk()) {
      setCause(turn.withContext(name_), false);
      return;
    }
    // An abort or a loss while it waited: its cause, not the closed channels'.
    std::vector<Completion> none;
    if (std::optional<Status> external = state_.wait(Clock::now(), none)) {
      setCause(*external, false);
      return;
    }
  }
  if (ring_.progress != nullptr) ring_.progress->setPhase(OpPhase::kHeaders);
  // Receives first, so that a neighbour's header lands in a posted buffer.
  auto& prev = *ring_.prev.channel;
  auto& next = *ring_.next.channel;
  header_transfers_pending_ = 4;
  header_recvs_pending_ = 2;
  outstanding_ += 4;
  outstanding_prev_ += 2;
  prev.recv(headerStreamId(kHeaderToNextIndex), header_from_prev_,
            state_.callback(token(Kind::kHeaderFromPrev)));
  next.recv(headerStreamId(kHeaderToPrevIndex), header_from_next_,
            state_.callback(token(Kind::kHeaderFromNext)));
  next.send(headerStreamId(kHeaderToNextIndex), header_out_,
            state_.callback(token(Kind::kHeaderToNext)));
  prev.send(headerStreamId(kHeaderToPrevIndex), header_out_,
            state_.callback(token(Kind::kHeaderToPrev)));
  startData();
}

void RingOp::sendChunk(uint32_t step, uint32_t chunk, const uint8_t* from) {
  const Span span = plan_.chunk(plan_.sendSegment(step), chunk);
  ++outstanding_;
  ring_.next.channel->send(streamId(key_, plan_.sendIndex(step, chunk)), {from, wireBytes(span)},
                           state_.callback(token(Kind::kDataSend, step, chunk)));
}

void RingOp::recvChunk(uint32_t step, uint32_t chunk, uint8_t* into) {
  const Span span = plan_.chunk(plan_.recvSegment(step), chunk);
  ++outstanding_;
  ++outstanding_prev_;
  ring_.prev.channel->recv(streamId(key_, plan_.recvIndex(step, chunk)), {into, wireBytes(span)},
                           state_.callback(token(Kind::kDataRecv, step, chunk)));
}

void RingOp::onHeaderSent(const RingNeighbour& to, const Status& status) {
  --header_sends_pending_;
  if (!status.isOk()) {
    setCause(channelFailure(to, status, "sending the op header to"), true);
    return;
  }
  ++header_sends_done_;
  bytes_sent_ += kOpHeaderSize;
}

void RingOp::onHeaderReceived(bool from_prev, const Status& status) {
  --header_recvs_pending_;
  const RingNeighbour& who = from_prev ? ring_.prev : ring_.next;
  if (!status.isOk()) {
    setCause(channelFailure(who, status, "receiving the op header of"), true);
    return;
  }
  bytes_received_ += kOpHeaderSize;
  auto theirs = decodeOpHeader(from_prev ? header_from_prev_ : header_from_next_);
  Status verdict = theirs ? compareDigests(digest_, *theirs, who.rank, who.describe())
                          : theirs.status().withContext("op header from " + who.describe());
  if (!verdict.isOk()) {
    setCause(verdict.withContext(name_), false);
    return;
  }
  (from_prev ? prev_checked_ : next_checked_) = true;
}

void RingOp::handle(const Completion& completion) {
  const Kind kind = kindOf(completion.token);
  if (completion.status.code() == Code::kInvalidUsage && disagreement_.empty()) {
    disagreement_ = completion.status.message();
  }
  --outstanding_;
  if (onPrevChannel(kind)) --outstanding_prev_;
  const uint32_t step = stepOf(completion.token);
  const uint32_t chunk = chunkOf(completion.token);
  const bool ok = completion.status.isOk();
  if (kind == Kind::kDataRecv) {
    if (!ok) setCause(channelFailure(ring_.prev, completion.status, "receiving from"), true);
    const bool usable = ok && !failed_;
    if (usable) {
      ++recvs_done_;
      const size_t bytes = wireBytes(plan_.chunk(plan_.recvSegment(step), chunk));
      bytes_received_ += bytes;
      if (ring_.progress != nullptr) ring_.progress->addReceived(bytes);
    }
    onReceived(step, chunk, usable);
  } else if (kind == Kind::kDataSend) {
    if (!ok) {
      setCause(channelFailure(ring_.next, completion.status, "sending to"), true);
    } else {
      ++sends_done_;
      const size_t bytes = wireBytes(plan_.chunk(plan_.sendSegment(step), chunk));
      bytes_sent_ += bytes;
      if (ring_.progress != nullptr) ring_.progress->addSent(bytes);
    }
    onSent(step, chunk, ok);
  } else {
    if (kind == Kind::kHeaderToNext || kind == Kind::kHeaderToPrev) {
      onHeaderSent(kind == Kind::kHeaderToPrev ? ring_.prev : ring_.next, completion.status);
    } else {
      onHeaderReceived(kind == Kind::kHeaderFromPrev, completion.status);
      if (prev_checked_ && next_checked_ && ring_.progress != nullptr) {
        ring_.progress->setPhase(OpPhase::kData);
      }
    }
    if (--header_transfers_pending_ == 0) endHeaderTurn();
  }
}

std::string RingOp::waitingFor() const {
  if (!prev_checked_) return "the op header of " + ring_.prev.describe() + " (did it call the op?)";
  if (!next_checked_) return "the op header of " + ring_.next.describe() + " (did it call the op?)";
  if (recvs_done_ < recvs_total_) {
    return "data from " + ring_.prev.describe() + " (" + std::to_string(recvs_done_) + " of " +
           std::to_string(recvs_total_) + " chunks received)";
  }
  return "delivery to " + ring_.next.describe() + " (" + std::to_string(sends_done_) + " of " +
         std::to_string(sends_total_) + " chunks delivered)";
}

void RingOp::chargeWait(const std::vector<Completion>& woke_by, std::chrono::nanoseconds waited,
                        bool blocked_on_prev, bool for_header) const {
  // A wait for a missing op header is the late neighbour's; any other, that
  // of the neighbour whose transfer ended it (a wait that nothing ended: a
  // failure, the deadline) or else of the one it was blocked on.
  bool on_prev = blocked_on_prev;
  if (!for_header && !woke_by.empty()) on_prev = onPrevChannel(kindOf(woke_by.front().token));
  ring_.progress->addWait(on_prev, waited, for_header);
}

bool RingOp::waitingOnPrev() const {
  // As waitingFor() names it: a missing header first (a peer that never
  // called the op holds up the others' data too), then data due from the
  // previous peer, then deliveries to the next.
  if (!prev_checked_ || !next_checked_) return !prev_checked_;
  return recvs_done_ < recvs_total_;
}

void RingOp::endHeaderTurn() {
  if (ring_.header_turns != nullptr) ring_.header_turns->done(ring_.ticket);
}

Status RingOp::run() {
  start();
  if (!failed_ && prev_checked_) postReceives();
  std::vector<Completion> batch;
  while (!failed_ && !finished()) {
    batch.clear();
    const auto waiting_since = Clock::now();
    const bool on_prev = waitingOnPrev();
    const bool for_header = !prev_checked_ || !next_checked_;
    if (ring_.progress != nullptr) ring_.progress->block(on_prev);
    std::optional<Status> external = state_.wait(deadline_, batch);
    if (ring_.progress != nullptr) {
      ring_.progress->unblock();
      chargeWait(batch, Clock::now() - waiting_since, on_prev, for_header);
    }
    for (const Completion& completion : batch)
      handle(completion);
    if (external) setCause(*external, false);
    if (!failed_ && !finished() && Clock::now() >= deadline_) {
      setCause(timeoutError(name_ + " timed out at revision " + std::to_string(ring_.revision) +
                            ", waiting for " + waitingFor()),
               false);
    }
    if (!failed_ && prev_checked_) postReceives();
  }
  if (failed_) return windDown();
  return Status::ok();
}

Status RingOp::windDown() {
  std::vector<Completion> batch;
  auto drain = [&](Clock::time_point until) {
    batch.clear();
    std::optional<Status> external = state_.wait(until, batch);
    for (const Completion& completion : batch)
      handle(completion);
    return external;
  };
  // A neighbour learns of a mismatch from this peer's header: let it arrive
  // before closing (bounded; an abort cuts it short).
  if (cause_.code() == Code::kInvalidUsage && !cause_from_channel_) {
    const auto until = std::min(deadline_, Clock::now() + kMismatchLinger);
    while (header_sends_pending_ > 0 && Clock::now() < until) {
      if (drain(until)) break;
    }
  }
  // A neighbour that closed its channel may have done so over a mismatch that
  // the other neighbour's header shows here too (in a ring of three, a peer
  // with another config is both neighbours' neighbour): read that header
  // first, so this peer reports the disagreement rather than a lost peer.
  // Headers go out as an op starts, so this waits only for a neighbour that
  // has not started the op yet (bounded).
  if (cause_from_channel_ && header_recvs_pending_ > 0) {
    const auto until = std::min(deadline_, Clock::now() + kMismatchLinger);
    while (cause_from_channel_ && header_recvs_pending_ > 0 && Clock::now() < until) {
      if (drain(until)) break;
    }
  }
  const bool passing_on =
      cause_from_channel_ && cause_.code() == Code::kInvalidUsage && !disagreement_.empty();
  const std::string reason = passing_on
                                 ? disagreement_
                                 : name_ + " failed on peer " + ring_.self.shortHex() + " (rank " +
                                       std::to_string(ring_.rank) + "): " + cause_.toString();
  // Closing ends the transport operations still holding buffers, and tells the
  // neighbours at once (with the code: a disagreement goes round the ring as
  // kInvalidUsage, not as a lost peer). A timeout closes only channels with
  // operations pending: the neighbours wait for their own deadlines and report
  // kTimeout too.
  const bool timeout = cause_.code() == Code::kTimeout;
  const uint64_t outstanding_next = outstanding_ - outstanding_prev_;
  const bool same = ring_.next.channel == ring_.prev.channel;
  if (!timeout || outstanding_next > 0 || (same && outstanding_prev_ > 0)) {
    ring_.next.channel->close(reason, cause_.code());
  }
  if (!timeout || outstanding_prev_ > 0 || (same && outstanding_next > 0)) {
    ring_.prev.channel->close(reason, cause_.code());
  }
  // Closing ends every pending operation within the transport's close grace.
  auto warn_at = Clock::now() + std::chrono::seconds(5);
  while (outstanding_ > 0) {
    drain(Clock::now() + std::chrono::milliseconds(500));
    if (outstanding_ > 0 && Clock::now() >= warn_at) {
      ECCL_LOG_WARN("{}: still waiting for {} transport operations to end after closing", name_,
                    outstanding_);
      warn_at = Clock::now() + std::chrono::seconds(5);
    }
  }
  return cause_;
}

void reportOpInfo(OpInfo* info, std::chrono::steady_clock::time_point started, uint64_t sent,
                  uint64_t received, uint32_t world_size) {
  if (info == nullptr) return;
  info->bytes_sent = sent;
  info->bytes_received = received;
  info->wall_time = std::chrono::steady_clock::now() - started;
  info->world_size = world_size;
}

size_t chunkElements(const CollOptions& options, size_t element) {
  return std::max<size_t>(1, options.chunk_bytes / element);
}

OpDigest ringDigest(Collective collective, uint64_t tag, uint64_t count, reduce::DType dtype) {
  OpDigest digest;
  digest.collective = collective;
  digest.tag = tag;
  digest.count = count;
  digest.dtype = dtype;
  return digest;
}

}  // namespace eccl::coll
