// The success path of the agreement on an op's outcome: how each peer learns,
// without the master, that every peer of the ring has its whole result.
//
// The lap runs both ways round the ring at once, each direction halfway.
// Once its data is complete, rank r sends forward hop 0 to the next rank and
// backward hop 0 to the previous one. Forward hop k arriving at r means ranks
// r-1 ... r-1-k are complete; backward hop k means ranks r+1 ... r+1+k are.
// A rank forwards a hop (k+1 in the same direction) from the I/O thread that
// received hop k, without waking the op's thread. With F = ceil((N-1)/2)
// forward and B = floor((N-1)/2) backward hops, the last of each covers all
// N-1 other ranks: the op succeeded everywhere. ceil((N-1)/2) hops in a row
// instead of N-1 around a one-way lap; N-1 one-byte messages per rank.
//
// When the lap breaks (a neighbour's channel fails, the op is failed from
// outside, the deadline passes) this rank knows only that its own data is
// complete: the caller asks the master (src/membership/outcome_arbiter.h).
// A broken lap stops forwarding and closes both neighbour channels, ending
// its pending receives.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "src/coll/op_key.h"
#include "src/coll/op_state.h"
#include "src/coll/ring_view.h"
#include "src/common/status.h"

namespace eccl::coll {

// How many hops of each direction a lap over `world_size` ranks has.
struct LapHops {
  uint32_t forward = 0;
  uint32_t backward = 0;
};
LapHops lapHops(uint32_t world_size);

// world_size >= 2. Ok: every rank's data is complete. `name` names the op in errors.
Status runCompletionLap(const RingView& ring, const OpKey& key, OpState& state,
                        std::chrono::steady_clock::time_point deadline, const std::string& name);

}  // namespace eccl::coll
