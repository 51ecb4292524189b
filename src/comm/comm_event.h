// A comm's membership, stage and anomaly events (pollEvent, the event callback).
#pragma once

#include <cstdint>

#include "src/common/endpoint_id.h"

namespace eccl::comm {

// kStageLost, kStageRestored: a pipeline stage lost its last peer, or a peer
// of a lost one announced that it holds the stage's weights again (only peers
// with a stage hear of them).
enum class EventKind {
  kJoined = 1,
  kLeft = 2,
  kLost = 3,
  kEvicted = 4,
  kStageLost = 5,
  kStageRestored = 6,
  kHungPeer = 7,     // the master found a peer of the group hung (it evicts it next, by default)
  kStraggler = 8,    // the master found a peer of the group entering its ops late
  kSlowLink = 9,     // ... a ring link (peer -> link_to) far busier than the others
  kSlowNode = 10,    // ... a peer whose two ring links both are
  kFrozenLink = 11,  // ... a link (peer -> link_to) on which no byte has moved for long
};

struct Event {
  EventKind kind = EventKind::kJoined;
  EndpointId peer;  // zero for stage events
  // The group's revision; 0 for a peer of another group (a point-to-point
  // partner) and for kStageLost; kStageRestored: the round the announcer passed.
  uint64_t revision = 0;
  int32_t stage = -1;  // the stage of a stage event; -1 otherwise
  // The anomaly kinds: the evidence and what it had to reach
  // (protocol::AnomalyEvent); 0 otherwise.
  double value = 0;
  double threshold = 0;
  EndpointId link_to;  // kSlowLink, kFrozenLink: the link's receiving end; else zero
};

}  // namespace eccl::comm
