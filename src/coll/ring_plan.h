// The geometry of a ring all-reduce: which segment each step moves, how a
// segment is cut into chunks, and which stream message index each chunk uses.
//
// The buffer of `count` elements is cut into world_size segments (sizes differ
// by at most one element). Step t < N-1 is reduce-scatter step t: rank r sends
// segment (r - t) and receives segment (r - t - 1) mod N, which it reduces into
// its own. After N-1 steps rank r holds the final value of segment (r + 1):
// it owns it. Step t >= N-1 is all-gather step s = t - (N-1): rank r sends
// segment (r + 1 - s) and receives segment (r - s), straight into the buffer.
// The chunk c of step t leaves only after chunk c of step t-1 arrived, so
// every segment is reduced in one fixed order along the ring and copied from
// its owner: every peer ends with the same bits.
#pragma once

#include <cstddef>
#include <cstdint>

#include "src/common/status.h"

namespace eccl::coll {

// Message indexes 0 and 1 are the op headers (to the next and to the previous
// peer); data chunks follow.
constexpr uint32_t kHeaderToNextIndex = 0;
constexpr uint32_t kHeaderToPrevIndex = 1;
constexpr uint32_t kFirstDataIndex = 2;

struct Span {
  size_t offset = 0;  // elements
  size_t count = 0;
};

class RingPlan {
 public:
  // kInvalidArgument when the op needs more messages than a stream id holds.
  static Result<RingPlan> make(uint32_t world_size, uint32_t rank, size_t count,
                               size_t chunk_elements);

  uint32_t worldSize() const { return world_; }
  uint32_t steps() const { return world_ < 2 ? 0 : 2 * (world_ - 1); }
  bool isReduceScatter(uint32_t step) const { return step + 1 < world_; }
  uint32_t sendSegment(uint32_t step) const;
  uint32_t recvSegment(uint32_t step) const;
  Span segment(uint32_t index) const;
  uint32_t chunksIn(uint32_t segment) const;
  // Element range of chunk c of a segment.
  Span chunk(uint32_t segment, uint32_t c) const;
  uint32_t maxChunks() const { return max_chunks_; }
  uint32_t messageIndex(uint32_t step, uint32_t c) const {
    return kFirstDataIndex + step * max_chunks_ + c;
  }

 private:
  RingPlan() = default;
  uint32_t mod(int64_t v) const;

  uint32_t world_ = 1;
  uint32_t rank_ = 0;
  size_t count_ = 0;
  size_t chunk_ = 1;
  uint32_t max_chunks_ = 0;
};

}  // namespace eccl::coll
