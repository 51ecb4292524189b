// Blocking ring all-reduce: pipelined reduce-scatter then all-gather (see
// ring_plan.h for the schedule, buffer_ring_op.h for the data), run on the
// caller's thread.
//
// Failure (the same for every ring collective, ring_op.h): the op never
// hangs. The deadline ends it with kTimeout, OpState::fail (abort, a ring
// member's loss) with the given status, a neighbour's channel failing with
// kPeerLost, a digest mismatch with
// kInvalidUsage. A failed op closes the channels to both neighbours, so that
// the transport ends its pending sends and receives (they hold the caller's
// buffers) and the neighbours' ops fail at once instead of waiting for their
// deadline (after a timeout, only channels with operations pending: the
// neighbours reach their own deadlines); it returns once no transport
// operation touches its buffers. After a digest mismatch it first lets its
// headers reach the neighbours (at most 2 s), so that both sides of the
// mismatch report it. The ring then needs a topology update before the next
// op (the Communicator enforces it). Survivors of a failure all get an error,
// but not necessarily the same one; the Communicator then makes them agree on
// the op's outcome (src/comm/outcome_book.h).
#pragma once

#include <chrono>

#include "src/coll/allreduce_args.h"
#include "src/coll/coll_options.h"
#include "src/coll/op_state.h"
#include "src/coll/ring_view.h"

namespace eccl::coll {

// args must have passed checkAllReduceArgs, options validate().
Status ringAllReduce(const RingView& ring, const AllReduceArgs& args, const CollOptions& options,
                     std::chrono::steady_clock::time_point deadline, OpState& state, OpInfo* info);

}  // namespace eccl::coll
