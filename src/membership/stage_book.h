// The master's record of pipeline stages (CheckFree recovery, issue 12): which
// group holds which stage of the pipeline, whether a stage is lost or
// recovering, and the latest metric its peers reported. Pure bookkeeping;
// MasterState feeds it registrations, removals, admissions, announcements and
// reports, and sends the events.
//
// A stage's life: kActive from its binding. Once a peer of its group was
// accepted, losing every peer makes it kLost (StageEvent kLost). A peer of a
// lost stage's group being accepted makes it kRecovering (no event: the
// replacement has yet to rebuild the stage's weights from its neighbours).
// An accepted peer announcing the weights rebuilt (StageAnnounce) makes a
// recovering stage kActive (StageEvent kRestored); announcing an active stage
// changes nothing. A recovering stage whose peers are all gone again is
// kLost again (StageEvent kLost once more).
//
// The pipeline's size is fixed by the first stage peer to register and holds
// while any stage peer is registered; when the last one is gone the whole
// pipeline is forgotten. A lost stage keeps its group and its last metric, so
// that a replacement can register for it and read its neighbours' metrics.
// The book is soft state like the rest of the master's: after a master
// restart it is rebuilt from re-registrations, and lost and recovering states
// and metrics are forgotten (a stage lost before the restart reads as unknown
// until a peer registers for it again; a recovering one reads as active, and
// its announcement changes nothing).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "src/common/endpoint_id.h"
#include "src/common/status.h"

namespace eccl::membership {

class StageBook {
 public:
  struct Metric {
    uint64_t round = 0;
    double value = 0;
    EndpointId peer;
  };
  enum class State : uint8_t { kActive, kLost, kRecovering };
  struct Stage {
    std::string group;
    State state = State::kActive;
    // A peer of its group was accepted since the stage was bound or lost: only
    // then does losing every peer make it lost.
    bool had_accepted = false;
    std::optional<Metric> metric;
  };

  // Whether a peer of `group` may register with (stage, num_stages); stage -1
  // is a peer without a stage. group_has_peers: the group has registered
  // peers already. The error (kInvalidUsage) names the conflict.
  Status check(const std::string& group, int32_t stage, uint32_t num_stages,
               bool group_has_peers) const;
  // A peer that passed check() registered; a stage binds its group.
  void add(const std::string& group, int32_t stage, uint32_t num_stages);
  // A stage peer was removed; group_empty: its group has no peer left. The
  // stage's number when this made it lost.
  std::optional<uint32_t> remove(int32_t stage, bool group_empty);
  // Peers of the group were accepted. True when that made a lost stage
  // recovering (it is not restored before an announcement).
  bool accepted(const std::string& group);
  // An accepted peer of the stage announced that it holds the stage's weights
  // again. True when that restored a recovering stage (now active); false
  // when the stage was active already (or is not in the book).
  bool announce(int32_t stage);
  // A metric of an accepted stage peer: the highest round wins; at equal
  // rounds, the later report.
  void report(int32_t stage, const EndpointId& peer, uint64_t round, double value);

  const Stage* find(uint32_t stage) const;
  // "active", "lost" or "recovering" (the master's /status and /metrics).
  static const char* stateName(State state);
  uint32_t numStages() const { return num_stages_; }
  const std::map<uint32_t, Stage>& stages() const { return stages_; }

 private:
  uint32_t num_stages_ = 0;
  size_t peers_ = 0;  // registered stage peers
  std::map<uint32_t, Stage> stages_;
  std::map<std::string, uint32_t> by_group_;
};

}  // namespace eccl::membership
