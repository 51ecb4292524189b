// Blocking ring broadcast: a pipelined chain root -> root+1 -> ... -> root-1;
// each rank forwards chunk c as soon as it arrived (ring_plan.h), on the
// caller's thread. Failure semantics: ring_op.h (as ringAllReduce).
#pragma once

#include <chrono>

#include "src/coll/broadcast_args.h"
#include "src/coll/coll_options.h"
#include "src/coll/op_state.h"
#include "src/coll/ring_view.h"

namespace eccl::coll {

// options must have passed validate(). Checks args itself (checkBroadcastArgs)
// and the op's size (more chunks than a stream id numbers): kInvalidArgument
// before any message. The op header carries the root: peers that disagree on
// it fail with kInvalidUsage. count 0 or one peer: no message at all.
Status ringBroadcast(const RingView& ring, const BroadcastArgs& args, const CollOptions& options,
                     std::chrono::steady_clock::time_point deadline, OpState& state, OpInfo* info);

}  // namespace eccl::coll
