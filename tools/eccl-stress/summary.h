// The soak's outcome: what happened, what went wrong, and the verdict.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace eccl::tools::stress {

struct Summary {
  uint64_t seed = 0;
  int peers = 0;
  double duration_s = 0;
  uint64_t steps = 0;           // ops completed by at least one peer
  uint64_t max_peer_steps = 0;  // the most steps one peer completed
  uint64_t ok_step_lines = 0;
  uint64_t joins = 0;
  uint64_t kills = 0;
  uint64_t hangs = 0;
  uint64_t hangs_resumed = 0;  // of the hangs: ended by SIGCONT (the rest by SIGKILL)
  uint64_t leaves = 0;
  uint64_t skipped_faults = 0;  // due, but the fleet was at its floor or cap
  uint64_t failed_steps = 0;    // failed ops of survivors (expected around faults)
  std::map<std::string, uint64_t> failures_by_code;
  int64_t max_stall_ms = 0;  // the longest gap between two steps of a running peer
  int64_t stuck_bound_ms = 0;
  uint64_t parity_checks = 0;
  uint64_t parity_failures = 0;
  uint64_t wrong_results = 0;
  uint64_t state_syncs = 0;  // ok shared-state syncs, over all peers
  uint64_t failed_state_syncs = 0;
  uint64_t state_parity_checks = 0;
  uint64_t state_revisions = 0;  // distinct state revisions synced
  std::string quant;             // the all-reduce's quantization; empty: exact
  uint64_t crashes = 0;          // exits nothing the soak did explains (the master's too)
  uint64_t stuck = 0;
  uint64_t bad_lines = 0;  // output that is not a JSON line
  int peers_at_end = 0;
  std::string netlab;  // the --netlab lab the soak ran in; empty on loopback
  // The master's anomaly findings by kind, and when the first of each came
  // (seconds after training began).
  std::map<std::string, uint64_t> anomalies;
  std::map<std::string, double> first_anomaly_s;

  bool passed() const {
    return parity_failures == 0 && wrong_results == 0 && crashes == 0 && stuck == 0 &&
           bad_lines == 0;
  }
};

// Several lines, each without a trailing newline but the last.
std::string formatSummaryText(const Summary& summary);
// One JSON object, without a newline.
std::string formatSummaryJson(const Summary& summary);

}  // namespace eccl::tools::stress
