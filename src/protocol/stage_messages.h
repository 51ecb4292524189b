// Pipeline stages on the control plane (CheckFree recovery, issue 12): a group
// may hold one stage of a pipeline (Register::stage). Its peers report a
// scalar per round (the gradient norm of their stage) with StageMetric, ask
// the master about any stage with StageQuery (answered by StageInfo), and
// hear from the master when a stage loses its last peer or is held again
// (StageEvent, sent to every peer of every stage group). A lost stage is held
// again once an accepted replacement has rebuilt its weights and says so with
// StageAnnounce (answered by a StageInfo of its own stage): its admission alone
// only makes the stage kRecovering.
#pragma once

#include <cstdint>
#include <string>

#include "src/common/endpoint_id.h"
#include "src/protocol/control_messages.h"
#include "src/protocol/frame.h"
#include "src/protocol/wire.h"

namespace eccl::protocol {

// peer -> master: this peer's metric for a round of its stage.
struct StageMetric {
  static constexpr MessageType kType = MessageType::kStageMetric;
  static constexpr size_t kEncodedSize = 8 + 8;
  uint64_t round = 0;
  double value = 0;  // finite and >= 0 (a norm)
  void encode(ByteWriter& out) const;
  static StageMetric decode(ByteReader& in);
};

// peer -> master: what is known about a stage. Any registered peer may ask.
struct StageQuery {
  static constexpr MessageType kType = MessageType::kStageQuery;
  static constexpr size_t kEncodedSize = 8 + 4;
  uint64_t request = 0;  // echoed in the answer
  uint32_t stage = 0;    // below kMaxStages
  void encode(ByteWriter& out) const;
  static StageQuery decode(ByteReader& in);
};

// peer -> master: this accepted stage peer holds its stage's weights again
// (after rebuilding them from its neighbours): a recovering stage is active
// again from `round` on. Answered by a StageInfo of the sender's stage, sent
// once the announcement took effect; announcing an active stage changes nothing.
struct StageAnnounce {
  static constexpr MessageType kType = MessageType::kStageAnnounce;
  static constexpr size_t kEncodedSize = 8 + 8;
  uint64_t request = 0;  // echoed in the answer (the StageQuery numbering)
  uint64_t round = 0;    // the training round from which the stage trains again
  void encode(ByteWriter& out) const;
  static StageAnnounce decode(ByteReader& in);
};

enum class StageState : uint8_t {
  kUnknown = 0,     // no group holds it (never seen, or the pipeline was forgotten)
  kActive = 1,      // its group has peers, or has never had an accepted one
  kLost = 2,        // every peer of its group is gone; the group and metric are kept
  kRecovering = 3,  // lost, then a peer of its group was accepted; none announced yet
};

// master -> peer: the answer to a StageQuery.
struct StageInfo {
  static constexpr MessageType kType = MessageType::kStageInfo;
  static constexpr size_t kMaxEncodedSize = 8 + 4 + 1 + (2 + kMaxGroupName) + 4 + 1 + 8 + 8 + 16;
  uint64_t request = 0;
  uint32_t stage = 0;
  StageState state = StageState::kUnknown;
  std::string group;      // empty exactly when kUnknown
  uint32_t accepted = 0;  // accepted peers of its group now
  // The latest metric reported for the stage (the highest round; at equal
  // rounds, the later report). Without one, the three fields are zero.
  bool has_metric = false;
  uint64_t metric_round = 0;
  double metric = 0;
  EndpointId metric_peer;  // who reported it
  void encode(ByteWriter& out) const;
  static StageInfo decode(ByteReader& in);
};

enum class StageEventKind : uint8_t {
  kLost = 1,      // the last peer of the stage's group is gone
  kRestored = 2,  // a peer of a recovering stage announced it holds the weights again
};

// master -> every peer of every stage group.
struct StageEvent {
  static constexpr MessageType kType = MessageType::kStageEvent;
  static constexpr size_t kMaxEncodedSize = 1 + 4 + 8 + (2 + kMaxGroupName);
  StageEventKind kind = StageEventKind::kLost;
  uint32_t stage = 0;
  uint64_t round = 0;  // kRestored: the announcer's StageAnnounce::round; kLost: 0
  std::string group;   // not empty
  void encode(ByteWriter& out) const;
  static StageEvent decode(ByteReader& in);
};

}  // namespace eccl::protocol
