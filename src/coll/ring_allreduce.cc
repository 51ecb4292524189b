#include "src/coll/ring_allreduce.h"

#include <algorithm>
#include <cstring>
#include <string>
#include <unordered_map>
#include <vector>

#include "src/coll/op_header.h"
#include "src/coll/op_key.h"
#include "src/coll/ring_plan.h"
#include "src/common/log.h"

namespace eccl::coll {

namespace {

using Clock = std::chrono::steady_clock;

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

class RingAllReduce {
 public:
  RingAllReduce(const RingView& ring, const AllReduceArgs& args, const CollOptions& options,
                Clock::time_point deadline, OpState& state, RingPlan plan)
      : ring_(ring),
        args_(args),
        options_(options),
        deadline_(deadline),
        state_(state),
        plan_(plan),
        key_{ring.revision, args.tag, 0},
        element_(reduce::dtypeSize(args.dtype)),
        buf_(static_cast<uint8_t*>(args.recv)) {}

  Status run();
  uint64_t bytesSent() const { return bytes_sent_; }
  uint64_t bytesReceived() const { return bytes_received_; }

 private:
  std::string opName() const {
    return "allReduce (tag " + std::to_string(args_.tag) + ", count " +
           std::to_string(args_.count) + ")";
  }
  bool finished() const {
    return header_sends_done_ == 2 && prev_checked_ && next_checked_ &&
           recvs_done_ == recvs_total_ && sends_done_ == sends_total_;
  }
  void start();
  void handle(const Completion& completion);
  void onHeader(Kind kind, const Status& status);
  void onDataRecv(uint32_t step, uint32_t chunk, const Status& status);
  void postSend(uint32_t step, uint32_t chunk);
  void postReceives();
  bool advanceCursor();
  size_t region(uint32_t segment, uint32_t chunk) const {
    return size_t{segment} * plan_.maxChunks() + chunk;
  }
  Status channelFailure(const RingNeighbour& who, const Status& status, const char* what) const;
  void setCause(Status cause, bool from_channel);
  std::string waitingFor() const;
  Status windDown();

  const RingView& ring_;
  const AllReduceArgs& args_;
  const CollOptions& options_;
  const Clock::time_point deadline_;
  OpState& state_;
  const RingPlan plan_;
  const OpKey key_;
  const size_t element_;
  uint8_t* const buf_;

  OpDigest digest_;
  OpHeaderBytes header_out_{};
  OpHeaderBytes header_from_prev_{};
  OpHeaderBytes header_from_next_{};
  int header_sends_done_ = 0;
  int header_sends_pending_ = 2;
  bool prev_checked_ = false;
  bool next_checked_ = false;

  // Receives are posted in schedule order, at most pipeline_depth at a time.
  uint32_t cursor_step_ = 0;
  uint32_t cursor_chunk_ = 0;
  bool cursor_done_ = false;
  uint32_t recvs_in_flight_ = 0;
  uint64_t recvs_total_ = 0;
  uint64_t recvs_done_ = 0;
  uint64_t sends_total_ = 0;
  uint64_t sends_done_ = 0;
  // Sends still reading each (segment, chunk) of the buffer: an all-gather
  // receive must not overwrite a chunk whose reduce-scatter send is in flight.
  std::vector<uint16_t> sending_;
  std::vector<uint8_t> staging_;
  std::vector<uint32_t> free_slots_;
  std::unordered_map<uint64_t, uint32_t> slot_of_;  // receive token -> staging slot
  size_t slot_bytes_ = 0;
  uint64_t outstanding_ = 0;       // transport operations whose callback has not been handled
  uint64_t outstanding_prev_ = 0;  // of which on the channel to the previous peer

  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
  bool failed_ = false;
  bool cause_from_channel_ = false;
  Status cause_;
};

Status RingAllReduce::channelFailure(const RingNeighbour& who, const Status& status,
                                     const char* what) const {
  // A refused or malformed message keeps its code; a broken or closed channel
  // means, for this op, that the neighbour is gone.
  const Code code = status.code();
  const bool keep = code == Code::kInvalidArgument || code == Code::kInvalidUsage ||
                    code == Code::kProtocolError || code == Code::kUnsupported;
  return Status(keep ? code : Code::kPeerLost,
                opName() + ": " + what + " " + who.describe() + " failed: " + status.toString());
}

void RingAllReduce::setCause(Status cause, bool from_channel) {
  if (failed_) {
    // A digest mismatch explains a channel the neighbour closed because of it.
    if (!(cause_from_channel_ && cause.code() == Code::kInvalidUsage && !from_channel)) return;
  }
  failed_ = true;
  cause_from_channel_ = from_channel;
  cause_ = std::move(cause);
}

void RingAllReduce::start() {
  digest_.tag = args_.tag;
  digest_.count = args_.count;
  digest_.dtype = args_.dtype;
  digest_.op = args_.op;
  digest_.revision = ring_.revision;
  digest_.world_size = ring_.world_size;
  digest_.rank = ring_.rank;
  header_out_ = encodeOpHeader(digest_);

  for (uint32_t t = 0; t < plan_.steps(); ++t) {
    recvs_total_ += plan_.chunksIn(plan_.recvSegment(t));
    sends_total_ += plan_.chunksIn(plan_.sendSegment(t));
  }
  sending_.assign(size_t{ring_.world_size} * plan_.maxChunks(), 0);
  const size_t chunk_elements = std::max<size_t>(1, options_.chunk_bytes / element_);
  slot_bytes_ = std::min(chunk_elements, plan_.segment(0).count) * element_;
  const uint32_t slots = std::min<uint32_t>(options_.pipeline_depth, plan_.maxChunks());
  staging_.resize(size_t{slots} * slot_bytes_);
  for (uint32_t s = slots; s-- > 0;)
    free_slots_.push_back(s);
  cursor_done_ = !advanceCursor();

  // Receives first, so that a neighbour's header lands in a posted buffer.
  auto& prev = *ring_.prev.channel;
  auto& next = *ring_.next.channel;
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
  // Step 0 sends this peer's own data: nothing to wait for.
  for (uint32_t c = 0; c < plan_.chunksIn(plan_.sendSegment(0)); ++c)
    postSend(0, c);
}

// Moves the receive cursor to the next (step, chunk) that exists, starting at
// the current position; false when the schedule is exhausted.
bool RingAllReduce::advanceCursor() {
  while (cursor_step_ < plan_.steps()) {
    if (cursor_chunk_ < plan_.chunksIn(plan_.recvSegment(cursor_step_))) return true;
    ++cursor_step_;
    cursor_chunk_ = 0;
  }
  return false;
}

void RingAllReduce::postReceives() {
  // Data receives wait for the previous peer's header: a peer with another
  // count must be reported as such, not as a message of the wrong size.
  while (!failed_ && prev_checked_ && !cursor_done_ && recvs_in_flight_ < options_.pipeline_depth) {
    const uint32_t t = cursor_step_;
    const uint32_t c = cursor_chunk_;
    const uint32_t seg = plan_.recvSegment(t);
    const Span span = plan_.chunk(seg, c);
    const uint64_t tok = token(Kind::kDataRecv, t, c);
    std::span<uint8_t> into;
    if (plan_.isReduceScatter(t)) {
      if (free_slots_.empty()) return;
      const uint32_t slot = free_slots_.back();
      free_slots_.pop_back();
      slot_of_[tok] = slot;
      into = {staging_.data() + size_t{slot} * slot_bytes_, span.count * element_};
    } else {
      if (sending_[region(seg, c)] != 0) return;
      into = {buf_ + span.offset * element_, span.count * element_};
    }
    ++recvs_in_flight_;
    ++outstanding_;
    ++outstanding_prev_;
    ++cursor_chunk_;
    cursor_done_ = !advanceCursor();
    ring_.prev.channel->recv(streamId(key_, plan_.messageIndex(t, c)), into, state_.callback(tok));
  }
}

void RingAllReduce::postSend(uint32_t step, uint32_t chunk) {
  const uint32_t seg = plan_.sendSegment(step);
  const Span span = plan_.chunk(seg, chunk);
  ++sending_[region(seg, chunk)];
  ++outstanding_;
  ring_.next.channel->send(streamId(key_, plan_.messageIndex(step, chunk)),
                           {buf_ + span.offset * element_, span.count * element_},
                           state_.callback(token(Kind::kDataSend, step, chunk)));
}

void RingAllReduce::onHeader(Kind kind, const Status& status) {
  const bool from_prev = kind == Kind::kHeaderFromPrev;
  const RingNeighbour& who = from_prev ? ring_.prev : ring_.next;
  if (kind == Kind::kHeaderToNext || kind == Kind::kHeaderToPrev) {
    --header_sends_pending_;
    if (!status.isOk()) {
      setCause(channelFailure(who, status, "sending the op header to"), true);
      return;
    }
    ++header_sends_done_;
    bytes_sent_ += kOpHeaderSize;
    return;
  }
  if (!status.isOk()) {
    setCause(channelFailure(who, status, "receiving the op header of"), true);
    return;
  }
  bytes_received_ += kOpHeaderSize;
  auto theirs = decodeOpHeader(from_prev ? header_from_prev_ : header_from_next_);
  Status verdict = theirs ? compareDigests(digest_, *theirs, who.rank, who.describe())
                          : theirs.status().withContext("op header from " + who.describe());
  if (!verdict.isOk()) {
    setCause(verdict.withContext(opName()), false);
    return;
  }
  (from_prev ? prev_checked_ : next_checked_) = true;
}

void RingAllReduce::onDataRecv(uint32_t step, uint32_t chunk, const Status& status) {
  const uint64_t tok = token(Kind::kDataRecv, step, chunk);
  --recvs_in_flight_;
  std::optional<uint32_t> slot;
  if (auto it = slot_of_.find(tok); it != slot_of_.end()) {
    slot = it->second;
    slot_of_.erase(it);
  }
  if (!status.isOk() || failed_) {
    if (slot) free_slots_.push_back(*slot);
    if (!status.isOk()) setCause(channelFailure(ring_.prev, status, "receiving from"), true);
    return;
  }
  const uint32_t seg = plan_.recvSegment(step);
  const Span span = plan_.chunk(seg, chunk);
  uint8_t* at = buf_ + span.offset * element_;
  bytes_received_ += span.count * element_;
  ++recvs_done_;
  if (plan_.isReduceScatter(step)) {
    // No send reads this chunk now: it leaves at step + 1, after this.
    reduce::reduceInto(at, staging_.data() + size_t{*slot} * slot_bytes_, span.count, args_.dtype,
                       args_.op);
    free_slots_.push_back(*slot);
    // The owner finishes the average once, before everyone copies its bytes.
    if (step + 2 == ring_.world_size && args_.op == reduce::ReduceOp::kAvg) {
      reduce::finishAverage(at, span.count, args_.dtype, ring_.world_size);
    }
  }
  if (step + 1 < plan_.steps()) postSend(step + 1, chunk);
}

void RingAllReduce::handle(const Completion& completion) {
  const Kind kind = kindOf(completion.token);
  --outstanding_;
  if (onPrevChannel(kind)) --outstanding_prev_;
  if (kind == Kind::kDataRecv) {
    onDataRecv(stepOf(completion.token), chunkOf(completion.token), completion.status);
  } else if (kind == Kind::kDataSend) {
    const uint32_t step = stepOf(completion.token);
    const uint32_t chunk = chunkOf(completion.token);
    const uint32_t seg = plan_.sendSegment(step);
    --sending_[region(seg, chunk)];
    if (!completion.status.isOk()) {
      setCause(channelFailure(ring_.next, completion.status, "sending to"), true);
      return;
    }
    ++sends_done_;
    bytes_sent_ += plan_.chunk(seg, chunk).count * element_;
  } else {
    onHeader(kind, completion.status);
  }
}

std::string RingAllReduce::waitingFor() const {
  if (!prev_checked_) return "the op header of " + ring_.prev.describe() + " (did it call the op?)";
  if (!next_checked_) return "the op header of " + ring_.next.describe() + " (did it call the op?)";
  if (recvs_done_ < recvs_total_) {
    return "data from " + ring_.prev.describe() + " (" + std::to_string(recvs_done_) + " of " +
           std::to_string(recvs_total_) + " chunks received)";
  }
  return "delivery to " + ring_.next.describe() + " (" + std::to_string(sends_done_) + " of " +
         std::to_string(sends_total_) + " chunks delivered)";
}

Status RingAllReduce::run() {
  start();
  postReceives();
  std::vector<Completion> batch;
  while (!failed_ && !finished()) {
    batch.clear();
    std::optional<Status> external = state_.wait(deadline_, batch);
    for (const Completion& completion : batch)
      handle(completion);
    if (external) setCause(*external, false);
    if (!failed_ && !finished() && Clock::now() >= deadline_) {
      setCause(timeoutError(opName() + " timed out at revision " + std::to_string(ring_.revision) +
                            ", waiting for " + waitingFor()),
               false);
    }
    postReceives();
  }
  if (failed_) return windDown();
  return Status::ok();
}

Status RingAllReduce::windDown() {
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
  const std::string reason = opName() + " failed on peer " + ring_.self.shortHex() + " (rank " +
                             std::to_string(ring_.rank) + "): " + cause_.toString();
  // Closing ends the transport operations still holding buffers, and tells the
  // neighbours at once. A timeout closes only channels with operations pending:
  // the neighbours wait for their own deadlines and report kTimeout too.
  const bool timeout = cause_.code() == Code::kTimeout;
  const uint64_t outstanding_next = outstanding_ - outstanding_prev_;
  const bool same = ring_.next.channel == ring_.prev.channel;
  if (!timeout || outstanding_next > 0 || (same && outstanding_prev_ > 0)) {
    ring_.next.channel->close(reason);
  }
  if (!timeout || outstanding_prev_ > 0 || (same && outstanding_next > 0)) {
    ring_.prev.channel->close(reason);
  }
  // Closing ends every pending operation within the transport's close grace.
  auto warn_at = Clock::now() + std::chrono::seconds(5);
  while (outstanding_ > 0) {
    drain(Clock::now() + std::chrono::milliseconds(500));
    if (outstanding_ > 0 && Clock::now() >= warn_at) {
      ECCL_LOG_WARN("{}: still waiting for {} transport operations to end after closing", opName(),
                    outstanding_);
      warn_at = Clock::now() + std::chrono::seconds(5);
    }
  }
  return cause_;
}

}  // namespace

Status ringAllReduce(const RingView& ring, const AllReduceArgs& args, const CollOptions& options,
                     std::chrono::steady_clock::time_point deadline, OpState& state, OpInfo* info) {
  const auto started = Clock::now();
  const size_t element = reduce::dtypeSize(args.dtype);
  auto plan = RingPlan::make(ring.world_size, ring.rank, args.count,
                             std::max<size_t>(1, options.chunk_bytes / element));
  if (!plan) return plan.status();
  if (args.recv != args.send && args.count > 0) {
    std::memcpy(args.recv, args.send, args.count * element);
  }
  Status result;
  uint64_t sent = 0;
  uint64_t received = 0;
  // One peer: its data is the result (an average over one peer is the data).
  if (ring.world_size > 1 && args.count > 0) {
    RingAllReduce op(ring, args, options, deadline, state, *plan);
    result = op.run();
    sent = op.bytesSent();
    received = op.bytesReceived();
  }
  if (info != nullptr) {
    info->bytes_sent = sent;
    info->bytes_received = received;
    info->wall_time = Clock::now() - started;
    info->world_size = ring.world_size;
  }
  return result;
}

}  // namespace eccl::coll
