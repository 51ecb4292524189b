// The soak's assertions on what peers print: every step line says ok (the
// peer checked every element exactly), and every peer that completed the op of
// a revision (one op per revision: each step's update makes a new one)
// reports the same world size and the same hash of its result.
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
  kParityFailure,  // another peer reported a different result for the same op
  kNotAStep,       // a membership line
};

struct StepCounts {
  uint64_t ok_steps = 0;         // ok step lines, over all peers
  uint64_t failed_steps = 0;     // failed ops, not wrong results
  uint64_t parity_checks = 0;    // ok lines compared with an earlier peer's for the same op
  uint64_t parity_failures = 0;  // ops whose peers disagree (each counted once)
  uint64_t wrong_results = 0;
  // Failed ops by the code's name (PeerLost, Timeout, ...).
  std::map<std::string, uint64_t> failures_by_code;
};

class StepChecker {
 public:
  // One JSON line of a peer; `detail` explains a verdict other than ok.
  StepVerdict onLine(int peer, const nlohmann::json& line, std::string* detail);

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
  std::map<uint64_t, FirstReport> ops_;  // by revision
  StepCounts counts_;
};

}  // namespace eccl::tools::stress
