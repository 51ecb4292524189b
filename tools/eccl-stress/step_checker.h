// The soak's assertions on what peers print: every step line says ok (the
// peer checked every element exactly, or within the quantization bound), and
// every peer that completed the op of a revision (one op per revision: each
// step's update makes a new one) reports the same world size and the same
// hash of its result. State lines: every peer that completed the shared-state
// sync of a state revision reports the same hash of its state.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

namespace eccl::tools::stress {

enum class StepVerdict {
  kOk,
  kFailed,         // the op failed (an injected fault nearby: counted, expected)
  kWrongResult,    // the peer's own exact check failed
  kParityFailure,  // another peer reported a different result (or state) for the same op
  kStateOk,        // a shared-state sync that agrees with the others so far
  kStateFailed,    // a failed sync (a fault nearby: counted, expected)
  kNotAStep,       // a membership line
};

struct StepCounts {
  uint64_t ok_steps = 0;         // ok step lines, over all peers
  uint64_t failed_steps = 0;     // failed ops, not wrong results
  uint64_t parity_checks = 0;    // ok lines compared with an earlier peer's for the same op
  uint64_t parity_failures = 0;  // ops whose peers disagree (each counted once)
  uint64_t wrong_results = 0;
  uint64_t state_syncs = 0;         // ok state lines, over all peers
  uint64_t failed_state_syncs = 0;  // failed syncs (expected around faults)
  uint64_t state_parity_checks = 0;
  // Failed ops by the code's name (PeerLost, Timeout, ...).
  std::map<std::string, uint64_t> failures_by_code;
};

class StepChecker {
 public:
  // One JSON line of a peer; `detail` explains a verdict other than ok.
  StepVerdict onLine(int peer, const nlohmann::json& line, std::string* detail);
  // Distinct state revisions synced by at least one peer.
  uint64_t stateRevisions() const { return states_.size(); }

  const StepCounts& counts() const { return counts_; }
  // Distinct ops completed by at least one peer.
  uint64_t opsCompleted() const { return ops_.size(); }

 private:
  struct FirstReport {
    int peer = -1;
    int world_size = 0;
    std::string hash;
    bool disagreed = false;
  };
  StepVerdict onStateLine(int peer, const nlohmann::json& line, std::string* detail);
  // The first report of a revision, or the parity check against it.
  StepVerdict compare(std::map<uint64_t, FirstReport>& firsts, const char* what, int peer,
                      uint64_t revision, int world_size, const std::string& hash, uint64_t& checks,
                      std::string* detail);

  std::map<uint64_t, FirstReport> ops_;     // by revision
  std::map<uint64_t, FirstReport> states_;  // by state revision
  StepCounts counts_;
};

}  // namespace eccl::tools::stress
