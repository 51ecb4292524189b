// The ring op of a reduce-scatter: the caller's sendbuf holds every block and
// stays untouched (except this rank's block in place), recvbuf holds only this
// rank's block, so partial sums travel through staging memory of bounded size.
//
// Memory: pipeline_depth receive slots and pipeline_depth send slots of one
// chunk each. A chunk of a reducing step lands in a receive slot, is reduced
// there with this rank's data of the block and, unless it is the last step,
// becomes a send slot, forwarded to the next peer and released once it was
// delivered; at the last step it is reduced into recvbuf.
//
// No deadlock with slots held by sends: receives are posted, and completed
// receives processed, in one order, the same on every rank: groups of
// pipeline_depth chunk indexes, within a group step by step. A send waits for
// the next rank to post its receive; that rank posts in order and, holding
// pipeline_depth receives, at least one of them precedes (in that order) the
// chunk the sender processed, so around the ring someone can always go on.
// Within a group, chunk c+1 of a step arrives while chunk c is reduced.
#pragma once

#include <utility>
#include <vector>

#include "src/coll/ring_op.h"

namespace eccl::coll {

class ReduceScatterRingOp final : public RingOp {
 public:
  // `in`: the whole sendbuf (the plan's segments are offsets in it). `out`:
  // this rank's block, already holding this rank's data of it (in place: `out`
  // is that block of `in`).
  ReduceScatterRingOp(const RingView& ring, const RingPlan& plan, const CollOptions& options,
                      Clock::time_point deadline, OpState& state, const OpDigest& digest,
                      std::string name, const uint8_t* in, uint8_t* out);

 private:
  static constexpr uint32_t kNoSlot = UINT32_MAX;

  void startData() override;
  void postReceives() override;
  void onReceived(uint32_t step, uint32_t chunk, bool usable) override;
  void onSent(uint32_t step, uint32_t chunk, bool ok) override;
  // Reduces and forwards the completed receives at the head of the order.
  void process();
  uint8_t* slot(uint32_t s) { return staging_.data() + size_t{s} * slot_bytes_; }
  uint32_t recvKey(uint32_t step, uint32_t c) const {
    return plan_.recvIndex(step, c) - kFirstDataIndex;
  }
  uint32_t sendKey(uint32_t step, uint32_t c) const {
    return plan_.sendIndex(step, c) - kFirstDataIndex;
  }

  const uint8_t* const in_;
  uint8_t* const out_;
  const size_t own_offset_;  // of this rank's block in `in`, elements
  const uint32_t depth_;

  std::vector<std::pair<uint32_t, uint32_t>> order_;  // (step, chunk) of every receive
  size_t posted_ = 0;                                 // receives of order_ posted
  size_t processed_ = 0;                              // receives of order_ reduced
  std::vector<uint32_t> recv_slot_;                   // by recvKey
  std::vector<uint8_t> received_;                     // by recvKey
  std::vector<uint32_t> send_slot_;                   // by sendKey; kNoSlot: reads `in`
  std::vector<uint8_t> staging_;
  std::vector<uint32_t> free_slots_;
  size_t slot_bytes_ = 0;
  uint32_t receiving_ = 0;   // slots held by receives (posted or waiting to be processed)
  uint32_t forwarding_ = 0;  // slots held by sends
};

}  // namespace eccl::coll
