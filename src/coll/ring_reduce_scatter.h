// Blocking ring reduce-scatter with uneven blocks: N-1 pipelined steps; block
// r is reduced along the ring r+1, r+2, ..., r in that fixed order and ends on
// rank r (ring_plan.h, reduce_scatter_ring_op.h), on the caller's thread.
// f16/bf16 and the average as in ringAllReduce: each step rounds back to the
// dtype, the owner divides once. Failure semantics: ring_op.h (as ringAllReduce).
#pragma once

#include <chrono>

#include "src/coll/coll_options.h"
#include "src/coll/op_state.h"
#include "src/coll/reduce_scatter_args.h"
#include "src/coll/ring_view.h"

namespace eccl::coll {

// options must have passed validate(). Checks args itself
// (checkReduceScatterArgs) and the op's size (more chunks on a link than a
// stream id numbers): kInvalidArgument before any message. The op header
// carries the sum of the counts and a hash of them: peers that disagree fail
// with kInvalidUsage. A sum of 0 or one peer: no message at all (only the copy
// of this rank's block). Memory beyond the caller's: 2 x pipeline_depth chunks.
Status ringReduceScatterV(const RingView& ring, const ReduceScatterArgs& args,
                          const CollOptions& options,
                          std::chrono::steady_clock::time_point deadline, OpState& state,
                          OpInfo* info);

}  // namespace eccl::coll
