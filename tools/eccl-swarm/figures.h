// What one eccl-swarm run measured, and how it is printed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace eccl::tools::swarm {

// Figures of phases that did not run (the run failed first) stay empty.
struct Figures {
  std::string master;  // "in-process" or HOST:PORT
  size_t peers = 0;
  size_t churn = 0;
  int io_threads = 0;
  size_t register_batch = 0;               // 0: all peers registered at once
  std::optional<double> register_s;        // phase 1: all peers registered
  std::optional<double> admit_ms;          // phase 2: accepted peers vote, all pending admitted
  std::optional<double> unanimous_ms;      // phase 2: every peer votes (no membership change)
  std::optional<double> steady_s;          // phase 3 length
  std::optional<double> master_cpu_cores;  // phase 3: master CPU / wall (in-process only)
  std::optional<double> heartbeats_per_s;  // phase 3: heartbeat acks received per second
  std::optional<double> expected_heartbeats_per_s;  // peers / heartbeat interval
  std::optional<double> churn_update_ms;  // phase 4: update after `churn` left and as many joined
  std::optional<double> leave_all_ms;     // phase 5: every connection closed after Leave
  uint64_t connect_retries = 0;           // registrations refused and tried again
  // Whole run: the longest heartbeat round trip, and how late the swarm's own
  // heartbeat timers fired (large: the harness, not the master, was behind).
  double max_heartbeat_rtt_ms = 0;
  double max_timer_late_ms = 0;
};

// A human table on stdout.
void printTable(const Figures& figures);
// One JSON line on stdout; `error` set when a phase failed (figures then partial).
void printJson(const Figures& figures, const std::string& error);

}  // namespace eccl::tools::swarm
