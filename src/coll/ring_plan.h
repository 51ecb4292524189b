// The geometry of a ring collective on one rank: how the buffer is cut into
// segments, which segment each step sends to the next peer and receives from
// the previous one, how a segment is cut into chunks, and which stream
// message index each chunk uses.
//
// Ring plans (all-reduce, reduce-scatter, all-gather) cut the buffer into
// world_size segments and give each rank one segment it owns: owned(r) =
// (r + shift) mod N. A reduce-scatter phase has N-1 steps; at step t rank r
// sends segment owned(r) - 1 - t and receives segment owned(r) - 2 - t, which
// it reduces with its own data: after N-1 steps it holds the final value of
// segment owned(r). An all-gather phase has N-1 steps; at step s rank r sends
// segment owned(r) - s and receives owned(r) - 1 - s, straight into the buffer.
// What a rank sends at a step is what it received at the step before (or its
// own data), and what it sends is what the next rank receives at that step.
//  - all-reduce: even segments (sizes differ by at most one element), shift 1
//    (rank r owns segment r + 1), reduce-scatter then all-gather.
//  - reduce-scatter: segments of the caller's counts, shift 0 (r owns block r).
//  - all-gather: segments of the caller's counts, shift 0.
// The chunk c of step t leaves only after chunk c of step t-1 arrived, so
// every segment is reduced in one fixed order along the ring and copied from
// its owner: every peer ends with the same bits.
//
// A broadcast plan is a chain with one segment (the whole buffer): the root
// only sends, root - 1 (the last) only receives, every other rank receives
// at step 0 and forwards each chunk at step 1 as soon as it arrived.
//
// Message indexes are per link (rank r -> r + 1, one direction of a channel):
// the sender numbers the chunks it sends in step order, the receiver the
// chunks it receives, and both see the same sequence of segments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

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

struct RingStep {
  static constexpr uint32_t kNone = UINT32_MAX;
  uint32_t send = kNone;  // segment sent to the next peer, or kNone
  uint32_t recv = kNone;  // segment received from the previous peer, or kNone
  bool reduce = false;    // the received segment is combined with this rank's data
};

class RingPlan {
 public:
  // Each returns kInvalidArgument when the op needs more messages on some
  // link than a stream id holds (every rank comes to the same verdict), and
  // kInternalError for a bad world size, rank, root or chunk size.
  static Result<RingPlan> allReduce(uint32_t world_size, uint32_t rank, size_t count,
                                    size_t chunk_elements);
  // counts.size() == world_size; segment r is block r (counts[r] elements at
  // the sum of the counts before it); rank r owns it.
  static Result<RingPlan> reduceScatter(uint32_t world_size, uint32_t rank,
                                        std::span<const size_t> counts, size_t chunk_elements);
  static Result<RingPlan> allGather(uint32_t world_size, uint32_t rank,
                                    std::span<const size_t> counts, size_t chunk_elements);
  static Result<RingPlan> broadcast(uint32_t world_size, uint32_t rank, uint32_t root, size_t count,
                                    size_t chunk_elements);

  uint32_t worldSize() const { return world_; }
  uint32_t steps() const { return static_cast<uint32_t>(steps_.size()); }
  bool hasSend(uint32_t step) const { return steps_[step].send != RingStep::kNone; }
  bool hasRecv(uint32_t step) const { return steps_[step].recv != RingStep::kNone; }
  // Whether the step's receive is reduced into this rank's data.
  bool isReduceScatter(uint32_t step) const { return steps_[step].reduce; }
  // The last reducing step: its result is final (an average is finished there).
  bool isLastReduce(uint32_t step) const {
    return steps_[step].reduce && (step + 1 == steps() || !steps_[step + 1].reduce);
  }
  uint32_t sendSegment(uint32_t step) const { return steps_[step].send; }
  uint32_t recvSegment(uint32_t step) const { return steps_[step].recv; }
  // Chunks the step sends or receives (0 without a send or receive).
  uint32_t sendChunks(uint32_t step) const;
  uint32_t recvChunks(uint32_t step) const;

  size_t count() const { return count_; }  // elements of the whole buffer
  uint32_t segments() const { return static_cast<uint32_t>(segments_.size()); }
  Span segment(uint32_t index) const { return segments_[index]; }
  uint32_t chunksIn(uint32_t segment) const;
  // Element range of chunk c of a segment.
  Span chunk(uint32_t segment, uint32_t c) const;
  uint32_t maxChunks() const { return max_chunks_; }
  size_t largestSegment() const { return largest_; }
  size_t chunkElements() const { return chunk_; }

  // Stream message index of chunk c of a step's send (to the next peer) and
  // of its receive (from the previous peer).
  uint32_t sendIndex(uint32_t step, uint32_t c) const {
    return kFirstDataIndex + send_base_[step] + c;
  }
  uint32_t recvIndex(uint32_t step, uint32_t c) const {
    return kFirstDataIndex + recv_base_[step] + c;
  }

 private:
  enum Phases : int { kReduceScatterPhase = 1, kAllGatherPhase = 2 };

  RingPlan() = default;
  static Result<RingPlan> ring(const char* what, uint32_t world_size, uint32_t rank,
                               std::vector<Span> segments, size_t chunk_elements, uint32_t shift,
                               int phases);
  Status finish(const char* what, uint64_t max_link_chunks);
  uint32_t mod(int64_t v) const;
  uint64_t chunksOf(size_t count) const { return (count + chunk_ - 1) / chunk_; }

  uint32_t world_ = 1;
  uint32_t rank_ = 0;
  size_t count_ = 0;  // elements of the whole buffer
  size_t chunk_ = 1;
  size_t largest_ = 0;
  uint32_t max_chunks_ = 0;
  std::vector<Span> segments_;
  std::vector<RingStep> steps_;
  std::vector<uint32_t> send_base_;  // per step: chunks this rank sent before it
  std::vector<uint32_t> recv_base_;
};

}  // namespace eccl::coll
