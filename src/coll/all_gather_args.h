// The caller's side of an all-gather (uneven blocks allowed) and the checks it
// must pass before any message is sent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "src/common/status.h"
#include "src/reduce/reduce.h"

namespace eccl::coll {

struct AllGatherArgs {
  // counts[rank] elements: this rank's block. In place: send points at this
  // rank's block of recv (recv + the sum of the counts before rank).
  const void* send = nullptr;
  void* recv = nullptr;  // sum(counts) elements: every rank's block, in rank order
  // One count per rank (elements; 0 allowed), the same on every rank. A plain
  // all-gather passes equal counts (equalCounts in block_counts.h).
  std::span<const size_t> counts;
  reduce::DType dtype = reduce::DType::kF32;
  uint64_t tag = 0;
};

// kInvalidArgument naming the bad argument: an unknown dtype, a tag that does
// not fit a stream id, not one count per rank, a sum of counts (or its byte
// size) that overflows, a NULL buffer that would be read or written, send
// overlapping recv without being this rank's block of it.
Status checkAllGatherArgs(const AllGatherArgs& args, uint32_t world_size, uint32_t rank);

}  // namespace eccl::coll
