// Blocking ring all-gather with uneven blocks: N-1 pipelined steps, each rank
// forwarding the block it received the step before (ring_plan.h), on the
// caller's thread. Failure semantics: ring_op.h (as ringAllReduce).
#pragma once

#include <chrono>

#include "src/coll/all_gather_args.h"
#include "src/coll/coll_options.h"
#include "src/coll/op_state.h"
#include "src/coll/ring_view.h"

namespace eccl::coll {

// options must have passed validate(). Checks args itself (checkAllGatherArgs)
// and the op's size (more chunks on a link than a stream id numbers):
// kInvalidArgument before any message. The op header carries the sum of the
// counts and a hash of them: peers that disagree fail with kInvalidUsage. A
// sum of 0 or one peer: no message at all (only the copy of this rank's block).
Status ringAllGatherV(const RingView& ring, const AllGatherArgs& args, const CollOptions& options,
                      std::chrono::steady_clock::time_point deadline, OpState& state, OpInfo* info);

}  // namespace eccl::coll
