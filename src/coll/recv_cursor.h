// The receives of a ring plan in schedule order, (step, chunk) by (step,
// chunk), steps without receives skipped: ring ops post their receives from
// it, a bounded number at a time.
#pragma once

#include <cstdint>

#include "src/coll/ring_plan.h"

namespace eccl::coll {

class RecvCursor {
 public:
  explicit RecvCursor(const RingPlan& plan) : plan_(plan) { settle(); }

  bool done() const { return step_ >= plan_.steps(); }
  uint32_t step() const { return step_; }
  uint32_t chunk() const { return chunk_; }
  void advance() {
    ++chunk_;
    settle();
  }

 private:
  void settle() {
    while (step_ < plan_.steps() && chunk_ >= plan_.recvChunks(step_)) {
      ++step_;
      chunk_ = 0;
    }
  }

  const RingPlan& plan_;
  uint32_t step_ = 0;
  uint32_t chunk_ = 0;
};

// A (step, chunk) pair as one key, for the ops' maps of messages in flight.
inline uint64_t stepChunkKey(uint32_t step, uint32_t chunk) {
  return (uint64_t{step} << 32) | chunk;
}

}  // namespace eccl::coll
