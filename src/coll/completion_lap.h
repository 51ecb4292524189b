// The success path of the agreement on an op's outcome: how each peer learns,
// without the master, that every peer of the ring has its whole result.
//
// Once its data is complete, rank r sends hop 0 to the next rank; a rank that
// receives hop k from the previous rank sends hop k+1 (its own data being
// complete). Hop k arriving at r means ranks r-1 ... r-1-k are complete, so
// hop N-2 means all of them are: the op succeeded everywhere. N-1 one-byte
// messages per rank, one ring latency per hop.
//
// When the lap breaks (a neighbour's channel fails, the op is failed from
// outside, the deadline passes) this rank knows only that its own data is
// complete: the caller asks the master (src/membership/outcome_arbiter.h).
// A broken lap closes both neighbour channels, ending its pending receives.
#pragma once

#include <chrono>
#include <string>

#include "src/coll/op_key.h"
#include "src/coll/op_state.h"
#include "src/coll/ring_view.h"
#include "src/common/status.h"

namespace eccl::coll {

// world_size >= 2. Ok: every rank's data is complete. `name` names the op in errors.
Status runCompletionLap(const RingView& ring, const OpKey& key, OpState& state,
                        std::chrono::steady_clock::time_point deadline, const std::string& name);

}  // namespace eccl::coll
