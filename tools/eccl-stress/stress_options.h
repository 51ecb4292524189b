// What `eccl-stress` runs: the fleet, the workload and the fault rates.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "tools/eccl-stress/detection.h"
#include "tools/eccl-stress/fault_schedule.h"

namespace eccl::tools::stress {

struct StressOptions {
  int peers = 4;
  int max_peers = 0;  // 0: twice --peers
  std::chrono::milliseconds duration{60'000};
  uint64_t seed = 1;
  FaultRates rates;
  uint64_t size_bytes = 1 << 20;
  // Shared state every peer syncs every state_every steps (0 bytes: none).
  uint64_t state_bytes = 0;
  uint32_t state_every = 5;
  std::string quant;  // the all-reduce's --quant spec; empty: exact
  std::chrono::milliseconds step{50};
  // Peer 0 pauses this much longer between its steps: a compute-slow node
  // that the master's straggler detector should name.
  std::chrono::milliseconds straggler_extra{0};
  std::chrono::milliseconds progress_every{5'000};
  bool json = false;
  Detection detection;
  // Extra eccl-master arguments (its anomaly detectors' settings, say).
  std::vector<std::string> master_args;
  // Testing the checkers: peer 0 corrupts its result after its check at this step (0: never).
  uint64_t corrupt_step = 0;
};

}  // namespace eccl::tools::stress
