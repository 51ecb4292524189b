// The caller's side of a reduce-scatter (uneven blocks allowed) and the checks
// it must pass before any message is sent.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "src/common/status.h"
#include "src/reduce/reduce.h"

namespace eccl::coll {

struct ReduceScatterArgs {
  const void* send = nullptr;  // sum(counts) elements: every rank's block, in rank order
  // counts[rank] elements: op over every peer of this rank's block. In place:
  // recv points at this rank's block of send (send + the counts before rank).
  void* recv = nullptr;
  // One count per rank (elements; 0 allowed), the same on every rank. A plain
  // reduce-scatter passes equal counts (equalCounts in block_counts.h).
  std::span<const size_t> counts;
  reduce::DType dtype = reduce::DType::kF32;
  reduce::ReduceOp op = reduce::ReduceOp::kSum;
  uint64_t tag = 0;
};

// kInvalidArgument naming the bad argument: an unknown dtype or op, a tag that
// does not fit a stream id, not one count per rank, a sum of counts (or its
// byte size) that overflows, a NULL buffer that would be read or written, recv
// overlapping send without being this rank's block of it.
Status checkReduceScatterArgs(const ReduceScatterArgs& args, uint32_t world_size, uint32_t rank);

}  // namespace eccl::coll
