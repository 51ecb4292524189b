// A ring op whose data lives in one buffer of plan-sized segments: all-reduce
// (in place in the caller's recvbuf), all-gather (in recvbuf) and broadcast.
//
// Sends read the buffer. A receive of a copying step lands straight in it; a
// receive of a reducing step lands in a staging slot (pipeline_depth slots of
// one chunk: the op's only memory beyond the caller's) and is reduced into
// the buffer, where the next step sends it from. Receives are posted in
// schedule order, at most receives_ahead at a time (and those of reducing
// steps only into a free slot); chunk c of step t is sent as soon as chunk c
// of step t-1 has arrived (or at once, at step 0).
#pragma once

#include <unordered_map>
#include <vector>

#include "src/coll/recv_cursor.h"
#include "src/coll/ring_op.h"

namespace eccl::coll {

class BufferRingOp final : public RingOp {
 public:
  // `buffer` holds the plan's segments (element offsets from it); this rank's
  // own data must be in it before run(). digest.dtype and digest.op say how
  // reducing steps combine (an average is finished by the segment's owner).
  BufferRingOp(const RingView& ring, const RingPlan& plan, const CollOptions& options,
               Clock::time_point deadline, OpState& state, const OpDigest& digest, std::string name,
               uint8_t* buffer);

 private:
  void startData() override;
  void postReceives() override;
  void onReceived(uint32_t step, uint32_t chunk, bool usable) override;
  void onSent(uint32_t step, uint32_t chunk, bool ok) override;
  void postSend(uint32_t step, uint32_t chunk);
  size_t region(uint32_t segment, uint32_t chunk) const {
    return size_t{segment} * plan_.maxChunks() + chunk;
  }

  uint8_t* const buf_;
  RecvCursor cursor_{plan_};
  uint32_t recvs_in_flight_ = 0;
  // Sends still reading each (segment, chunk) of the buffer: a copying
  // receive must not overwrite a chunk whose earlier send is in flight.
  std::vector<uint16_t> sending_;
  std::vector<uint8_t> staging_;
  std::vector<uint32_t> free_slots_;
  std::unordered_map<uint64_t, uint32_t> slot_of_;  // (step, chunk) -> staging slot
  size_t slot_bytes_ = 0;
};

}  // namespace eccl::coll
