#include "src/coll/ring_plan.h"

#include <algorithm>
#include <string>

#include "src/coll/op_key.h"

namespace eccl::coll {

Result<RingPlan> RingPlan::make(uint32_t world_size, uint32_t rank, size_t count,
                                size_t chunk_elements) {
  if (world_size == 0 || rank >= world_size || chunk_elements == 0) {
    return internalError("ring plan: bad world size, rank or chunk size");
  }
  RingPlan plan;
  plan.world_ = world_size;
  plan.rank_ = rank;
  plan.count_ = count;
  plan.chunk_ = chunk_elements;
  const size_t largest = count / world_size + (count % world_size != 0 ? 1 : 0);
  const size_t chunks = (largest + chunk_elements - 1) / chunk_elements;
  const uint64_t messages = kFirstDataIndex + uint64_t{plan.steps()} * chunks;
  if (messages > kMaxMessagesPerOp) {
    return invalidArgument("all-reduce of " + std::to_string(count) + " elements over " +
                           std::to_string(world_size) + " peers needs " + std::to_string(messages) +
                           " messages of " + std::to_string(chunk_elements) +
                           " elements, more than the " + std::to_string(kMaxMessagesPerOp) +
                           " an op may have: raise the chunk size or split the op");
  }
  plan.max_chunks_ = static_cast<uint32_t>(chunks);
  return plan;
}

uint32_t RingPlan::mod(int64_t v) const {
  const int64_t n = world_;
  return static_cast<uint32_t>(((v % n) + n) % n);
}

uint32_t RingPlan::sendSegment(uint32_t step) const {
  const int64_t r = rank_;
  return isReduceScatter(step) ? mod(r - step) : mod(r + 1 - (step - (world_ - 1)));
}

uint32_t RingPlan::recvSegment(uint32_t step) const {
  const int64_t r = rank_;
  return isReduceScatter(step) ? mod(r - step - 1) : mod(r - (step - (world_ - 1)));
}

Span RingPlan::segment(uint32_t index) const {
  const size_t base = count_ / world_;
  const size_t extra = count_ % world_;  // the first `extra` segments get one more
  return {index * base + std::min<size_t>(index, extra), base + (index < extra ? 1 : 0)};
}

uint32_t RingPlan::chunksIn(uint32_t seg) const {
  return static_cast<uint32_t>((segment(seg).count + chunk_ - 1) / chunk_);
}

Span RingPlan::chunk(uint32_t seg, uint32_t c) const {
  const Span s = segment(seg);
  const size_t begin = size_t{c} * chunk_;
  return {s.offset + begin, std::min(chunk_, s.count - begin)};
}

}  // namespace eccl::coll
