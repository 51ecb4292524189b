// One eccl-peer of the soak: the process, what the soak did to it, and the
// progress it made (its last finished step).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/common/status.h"
#include "tools/common/child_process.h"
#include "tools/eccl-bench/netlab_session.h"

namespace eccl::tools::stress {

using Clock = std::chrono::steady_clock;

// What every peer of a soak is started with.
struct PeerLaunch {
  std::string binary;
  std::string master;    // host:port
  std::string work_dir;  // each peer's stderr goes to peer-<index>.log there
  uint64_t size_bytes = 0;
  std::chrono::milliseconds step{50};
  std::chrono::milliseconds op_timeout{5000};
  uint64_t input_seed = 1;
  // --state-size/--state-every and --quant, as every peer gets them.
  std::vector<std::string> workload_args;
  // With --netlab: every peer runs in a host of this lab; else on 127.0.0.1.
  const bench::NetlabSession* lab = nullptr;
};

struct StressPeer {
  // `host`: the lab host it runs in (ignored without a lab).
  static Result<std::unique_ptr<StressPeer>> spawn(int index, int host, const PeerLaunch& launch,
                                                   const std::vector<std::string>& extra_args);

  bool gone() const { return child->reaped(); }
  // Running and left alone: a candidate for the next fault, and expected to progress.
  bool healthy() const { return !gone() && !stopped && !leaving && !killed && !shutting_down; }
  // Why its exit is no failure; empty when nothing the soak did explains it.
  std::string expectedExit(int wait_status) const;
  // The last lines of its stderr, for a report.
  std::string logTail(size_t lines) const;

  int index = 0;
  int host = -1;  // its lab host; -1 on loopback
  std::unique_ptr<ChildProcess> child;
  std::string log_path;
  Clock::time_point spawned;
  // Its last finished step (or its start, or its resumption): the stuck check.
  Clock::time_point last_progress;
  // True once it finished a step since it started or resumed: only then does
  // the next gap count as a stall (joining is not stalling).
  bool stepped = false;
  bool admitted = false;
  uint64_t ok_steps = 0;

  bool stopped = false;  // SIGSTOPped now
  bool hung = false;     // was stopped: its removal by the master is expected
  std::optional<Clock::time_point> hang_ends;
  bool hang_resumes = false;
  bool leaving = false;        // SIGTERMed as a fault (a graceful leave)
  bool killed = false;         // SIGKILLed by the soak
  bool shutting_down = false;  // SIGTERMed at the end
  bool reported = false;       // a wrong result, parity failure or stuck is on record already
};

}  // namespace eccl::tools::stress
