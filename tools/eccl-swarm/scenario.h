// The five phases of an eccl-swarm run: register, first admission (and a
// unanimous update), steady heartbeats, churn, everyone leaves. Each phase has
// a deadline and checks its outcome; the first one that fails ends the run.
#pragma once

#include <chrono>
#include <cstddef>

#include "src/common/status.h"
#include "tools/eccl-swarm/figures.h"
#include "tools/eccl-swarm/inprocess_master.h"
#include "tools/eccl-swarm/swarm.h"

namespace eccl::tools::swarm {

struct ScenarioOptions {
  size_t peers = 1024;
  size_t churn = 64;  // peers that leave, and new ones that join, in phase 4
  // Phase 1 starts this many peers, waits until they are registered, then the
  // next as many; 0: all at once (a storm of simultaneous registrations).
  size_t register_batch = 0;
  std::chrono::milliseconds steady{20'000};
  std::chrono::milliseconds phase_timeout{60'000};
};

// Fills `figures` as far as it gets. `master` is null for an external master
// (its CPU is then not measured and its counters not checked).
Status runScenario(Swarm& swarm, const InprocessMaster* master, const ScenarioOptions& options,
                   Figures& figures);

}  // namespace eccl::tools::swarm
