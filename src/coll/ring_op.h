// What every ring collective shares, whatever its data does: the op headers
// exchanged with both neighbours first (the digest check), the completion loop
// on the caller's thread, the deadline, abort and channel failures, and the
// wind-down. Subclasses move the data of one RingPlan (buffer_ring_op.h,
// reduce_scatter_ring_op.h).
//
// Failure: the op never hangs. The deadline ends it with kTimeout,
// OpState::fail (abort, a ring member's loss) with the given status, a
// neighbour's channel failing with kPeerLost, a digest mismatch with
// kInvalidUsage. A failed op closes the channels to both neighbours, so that
// the transport ends its pending sends and receives (they hold the caller's
// buffers) and the neighbours' ops fail at once instead of waiting for their
// deadline (after a timeout, only channels with operations pending: the
// neighbours reach their own deadlines); it returns once no transport
// operation touches its buffers. After a digest mismatch it first lets its
// headers reach the neighbours (at most 2 s), so that both sides of the
// mismatch report it. The ring then needs a topology update before the next
// op (the Communicator enforces it). Survivors of a failure all get an error,
// but not necessarily the same one. Whether an op whose data completed here
// succeeded everywhere is settled after run() returns, by the Communicator
// (completion_lap.h and src/comm/outcome_book.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "src/coll/coll_options.h"
#include "src/coll/op_header.h"
#include "src/coll/op_key.h"
#include "src/coll/op_state.h"
#include "src/coll/ring_plan.h"
#include "src/coll/ring_view.h"

namespace eccl::coll {

class RingOp {
 public:
  using Clock = std::chrono::steady_clock;

  virtual ~RingOp() = default;
  RingOp(const RingOp&) = delete;
  RingOp& operator=(const RingOp&) = delete;

  // Runs the op to its end on the caller's thread (world size >= 2).
  Status run();
  uint64_t bytesSent() const { return bytes_sent_; }
  uint64_t bytesReceived() const { return bytes_received_; }

 protected:
  // `name` is how errors name the op ("broadcast (tag 3, count 10, root 1)").
  // Everything passed by reference must outlive the op.
  RingOp(const RingView& ring, const RingPlan& plan, const CollOptions& options,
         Clock::time_point deadline, OpState& state, const OpDigest& digest, std::string name);

  // Posts the sends that need nothing received; once, right after the headers.
  virtual void startData() = 0;
  // Posts the receives it can. Runs only once the previous peer's header
  // matched (a peer with another geometry is reported as such, not as a
  // message of the wrong size), never after a failure, after every batch of
  // completions.
  virtual void postReceives() = 0;
  // A data receive or send ended. `usable`: it completed and the op has not
  // failed; otherwise the subclass only releases what the message held.
  virtual void onReceived(uint32_t step, uint32_t chunk, bool usable) = 0;
  virtual void onSent(uint32_t step, uint32_t chunk, bool ok) = 0;

  // Sends chunk c of the step's send segment, read from `from`, to the next peer.
  void sendChunk(uint32_t step, uint32_t chunk, const uint8_t* from);
  // Receives chunk c of the step's receive segment from the previous peer.
  void recvChunk(uint32_t step, uint32_t chunk, uint8_t* into);
  bool failed() const { return failed_; }
  size_t chunkBytes(Span span) const { return span.count * element_; }
  // The size of the message that carries `span`: its bytes, unless the
  // subclass encodes them (quantization).
  virtual size_t wireBytes(Span span) const { return chunkBytes(span); }

  const RingView& ring_;
  const RingPlan& plan_;
  const CollOptions& options_;
  const OpDigest digest_;
  const size_t element_;

 private:
  bool finished() const {
    return header_sends_done_ == 2 && prev_checked_ && next_checked_ &&
           recvs_done_ == recvs_total_ && sends_done_ == sends_total_;
  }
  void start();
  void handle(const Completion& completion);
  void onHeaderSent(const RingNeighbour& to, const Status& status);
  void onHeaderReceived(bool from_prev, const Status& status);
  Status channelFailure(const RingNeighbour& who, const Status& status, const char* what) const;
  void setCause(Status cause, bool from_channel);
  std::string waitingFor() const;
  // Whether the op, blocked now, waits for the previous peer (else the next).
  bool waitingOnPrev() const;
  // Adds a blocked wait to the progress's time waiting for a neighbour.
  void chargeWait(const std::vector<Completion>& woke_by, std::chrono::nanoseconds waited,
                  bool blocked_on_prev, bool for_header) const;
  Status windDown();

  const Clock::time_point deadline_;
  OpState& state_;
  const std::string name_;
  const OpKey key_;

  OpHeaderBytes header_out_{};
  OpHeaderBytes header_from_prev_{};
  OpHeaderBytes header_from_next_{};
  int header_sends_done_ = 0;
  int header_sends_pending_ = 2;
  int header_transfers_pending_ = 0;  // of the four; the turn ends when none is left
  int header_recvs_pending_ = 0;      // of the two
  void endHeaderTurn();
  bool prev_checked_ = false;
  bool next_checked_ = false;

  uint64_t recvs_total_ = 0;
  uint64_t recvs_done_ = 0;
  uint64_t sends_total_ = 0;
  uint64_t sends_done_ = 0;
  uint64_t outstanding_ = 0;       // transport operations whose callback has not been handled
  uint64_t outstanding_prev_ = 0;  // of which on the channel to the previous peer

  uint64_t bytes_sent_ = 0;
  uint64_t bytes_received_ = 0;
  bool failed_ = false;
  bool cause_from_channel_ = false;
  // What a neighbour said when it closed its channel over a disagreement: a
  // channel failure with kInvalidUsage passes it on unchanged.
  std::string disagreement_;
  Status cause_;
};

// Fills `info` (when not null) for an op that started at `started`.
void reportOpInfo(OpInfo* info, std::chrono::steady_clock::time_point started, uint64_t sent,
                  uint64_t received, uint32_t world_size);

// The plan's chunk size in elements of `element` bytes: options.chunk_bytes,
// at least one element.
size_t chunkElements(const CollOptions& options, size_t element);

// The digest with this rank's place in the ring (revision, world size, rank).
OpDigest withRing(OpDigest digest, const RingView& ring);

// The digest fields every collective sets; the caller adds its own (op, root,
// counts_hash).
OpDigest ringDigest(Collective collective, uint64_t tag, uint64_t count, reduce::DType dtype);

// The end every ring collective shares, once its plan is made and this rank's
// own data is in its buffer: the op make() returns (a RingOp subclass, built
// only then) runs when there are `count` > 0 elements and another peer to move
// them to; otherwise each rank's buffer already holds its result. Fills `info`
// (when not null) either way.
template <typename MakeOp>
Status runRingOp(const RingView& ring, uint64_t count,
                 std::chrono::steady_clock::time_point started, OpInfo* info, MakeOp&& make) {
  Status result;
  uint64_t sent = 0;
  uint64_t received = 0;
  if (ring.world_size > 1 && count > 0) {
    auto op = make();  // a prvalue: RingOp can be neither copied nor moved
    result = op.run();
    sent = op.bytesSent();
    received = op.bytesReceived();
  }
  reportOpInfo(info, started, sent, received, ring.world_size);
  return result;
}

}  // namespace eccl::coll
