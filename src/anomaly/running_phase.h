// A PeerReport's running phase (protocol::RunningPhase) is an op phase
// (coll::OpPhase) one up, with kNone (in no collective) below: the two
// conversions, for the peer that reports and the readers of the master's view.
#pragma once

#include <optional>

#include "src/coll/op_progress.h"
#include "src/protocol/report_messages.h"

namespace eccl::anomaly {

inline protocol::RunningPhase runningPhaseOf(coll::OpPhase phase) {
  return static_cast<protocol::RunningPhase>(static_cast<int>(phase) + 1);
}

// nullopt: in no collective.
inline std::optional<coll::OpPhase> opPhaseOf(protocol::RunningPhase phase) {
  if (phase == protocol::RunningPhase::kNone) return std::nullopt;
  return static_cast<coll::OpPhase>(static_cast<int>(phase) - 1);
}

}  // namespace eccl::anomaly
