#include "tools/eccl-swarm/figures.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace eccl::tools::swarm {

namespace {

nlohmann::json orNull(const std::optional<double>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

// Only after a run that completed: every figure is there.
void printTable(const Figures& f) {
  std::printf("eccl-swarm: %zu control-plane peers against the %s master (%d I/O threads)\n",
              f.peers, f.master.c_str(), f.io_threads);
  std::printf(
      "  %-44s %12.3f s\n",
      f.register_batch == 0
          ? "1 all registered (at once)"
          : ("1 all registered (" + std::to_string(f.register_batch) + " at a time)").c_str(),
      f.register_s.value_or(0));
  std::printf("  %-44s %12.1f ms\n", "2 admission update (pending -> accepted)",
              f.admit_ms.value_or(0));
  std::printf("  %-44s %12.1f ms\n", "2 unanimous update (every peer votes)",
              f.unanimous_ms.value_or(0));
  if (f.master_cpu_cores) {
    std::printf("  %-44s %12.4f cores\n", "3 master CPU, steady heartbeats", *f.master_cpu_cores);
  } else {
    std::printf("  %-44s %12s\n", "3 master CPU, steady heartbeats", "n/a (external)");
  }
  std::printf("  %-44s %12.0f /s (expected %.0f)\n", "3 heartbeats handled",
              f.heartbeats_per_s.value_or(0), f.expected_heartbeats_per_s.value_or(0));
  std::printf("  %-44s %12.1f ms\n",
              ("4 update after " + std::to_string(f.churn) + " left + joined").c_str(),
              f.churn_update_ms.value_or(0));
  std::printf("  %-44s %12.1f ms\n", "5 all left", f.leave_all_ms.value_or(0));
  std::printf("  %-44s %12llu\n", "registrations refused and retried",
              static_cast<unsigned long long>(f.connect_retries));
  std::printf("  %-44s %12.1f ms\n", "longest heartbeat round trip (whole run)",
              f.max_heartbeat_rtt_ms);
  std::printf("  %-44s %12.1f ms\n", "latest swarm heartbeat timer (whole run)",
              f.max_timer_late_ms);
}

void printJson(const Figures& f, const std::string& error) {
  nlohmann::json j;
  j["ok"] = error.empty();
  if (!error.empty()) j["error"] = error;
  j["master"] = f.master;
  j["peers"] = f.peers;
  j["churn"] = f.churn;
  j["io_threads"] = f.io_threads;
  j["register_batch"] = f.register_batch;
  j["register_s"] = orNull(f.register_s);
  j["admit_update_ms"] = orNull(f.admit_ms);
  j["unanimous_update_ms"] = orNull(f.unanimous_ms);
  j["steady_s"] = orNull(f.steady_s);
  j["master_cpu_cores"] = orNull(f.master_cpu_cores);
  j["heartbeats_per_s"] = orNull(f.heartbeats_per_s);
  j["expected_heartbeats_per_s"] = orNull(f.expected_heartbeats_per_s);
  j["churn_update_ms"] = orNull(f.churn_update_ms);
  j["leave_all_ms"] = orNull(f.leave_all_ms);
  j["connect_retries"] = f.connect_retries;
  j["max_heartbeat_rtt_ms"] = f.max_heartbeat_rtt_ms;
  j["max_timer_late_ms"] = f.max_timer_late_ms;
  std::printf("%s\n", j.dump().c_str());
}

}  // namespace eccl::tools::swarm
