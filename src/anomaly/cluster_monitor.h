// The master's anomaly detectors: they keep every accepted peer's recent
// PeerReports (sent with its heartbeats) and compare the peers of one ring,
// in the manner of the C4 paper: what one peer reports about its neighbours
// tells who the ring waits for.
//
//  - A hung peer: its ring neighbours have been blocked on its op header for
//    `hung_after`, while it is in no op with their tag (it never entered the
//    op; its heartbeats still arrive, or the heartbeat limit would remove it).
//  - A straggler: over the last `window`, its neighbours spent a share of the
//    window waiting for it to enter their ops (the time they were blocked on
//    its op header) that is both above `min_late_share` and `late_factor`
//    times the median of the other peers of its ring, without a break for
//    `confirm_for`. Only the straggler's neighbours wait for its header;
//    the rest of the ring waits for data, which is why lateness, not plain
//    waiting, singles it out.
//
// A condition is a Finding once, when it starts; it may be found again after
// it cleared. Single-threaded (the master's loop).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "src/common/endpoint_id.h"
#include "src/protocol/report_messages.h"

namespace eccl::anomaly {

using MonitorClock = std::chrono::steady_clock;

struct DetectorSettings {
  std::chrono::milliseconds hung_after{10'000};
  std::chrono::milliseconds window{10'000};
  // Summed over the straggler's (two) neighbours: 0.25 is each of them
  // waiting for it an eighth of the time. 0.1 found a straggler in a clean
  // 12 s WAN-lab soak on a loaded 2-core machine (scheduling noise).
  double min_late_share = 0.25;
  double late_factor = 4.0;
  std::chrono::milliseconds confirm_for{5'000};
};

enum class AnomalyKind : uint8_t { kHungPeer = 1, kStraggler = 2 };
// "hung_peer", "straggler".
const char* anomalyKindName(AnomalyKind kind);

struct Finding {
  AnomalyKind kind = AnomalyKind::kHungPeer;
  EndpointId peer;  // the hung peer, the straggler
  std::string group;
  // Hung: how long its neighbours have been blocked on it (ms). Straggler: how
  // late it was to its neighbours' ops over the window (ms, summed over them).
  double value = 0;
  double threshold = 0;  // what `value` had to reach
  std::string evidence;  // one sentence, for the log
  MonitorClock::time_point at;
};

// One accepted peer as the detectors see it (for /status and /metrics).
struct PeerHealth {
  EndpointId peer;
  std::string group;
  uint64_t ops_completed = 0;
  uint64_t ops_failed = 0;
  protocol::RunningPhase running_phase = protocol::RunningPhase::kNone;
  uint64_t running_tag = 0;
  uint32_t running_ms = 0;
  EndpointId waiting_on;
  uint32_t waiting_ms = 0;
  double late_ms = 0;  // how late it was to its neighbours' ops over the window
  bool hung = false;
  bool straggler = false;
};

// The sender's bytes per second to one peer over the window.
struct LinkRate {
  EndpointId from;
  EndpointId to;
  std::string group;
  double bytes_per_s = 0;
};

class ClusterMonitor {
 public:
  explicit ClusterMonitor(DetectorSettings settings = {});

  void onReport(const EndpointId& peer, const std::string& group,
                const protocol::PeerReport& report, MonitorClock::time_point now);
  // The peer left its ring (removed, or back to pending): its reports go.
  void forget(const EndpointId& peer);
  // Runs the detectors; returns the conditions that started since the last call.
  std::vector<Finding> check(MonitorClock::time_point now);

  std::vector<PeerHealth> peers(MonitorClock::time_point now) const;
  std::vector<LinkRate> links() const;
  // The latest findings, oldest first (at most 64).
  const std::deque<Finding>& recent() const { return recent_; }
  uint64_t found(AnomalyKind kind) const;
  const DetectorSettings& settings() const { return settings_; }

 private:
  struct Sample {
    MonitorClock::time_point at;
    protocol::PeerReport report;
  };
  struct Tracked {
    std::string group;
    std::deque<Sample> samples;  // oldest first; the window and one sample before it
    bool hung = false;
    bool straggler = false;
    std::optional<MonitorClock::time_point> late_since;  // the straggler condition holds since
  };

  // How late `peer` was to the ops of the other peers of its group over the
  // window: what they report waiting for its header, their latest totals
  // minus those at the window's start.
  double lateMs(const EndpointId& peer, const std::string& group) const;
  void record(Finding finding);

  const DetectorSettings settings_;
  std::map<EndpointId, Tracked> peers_;
  std::deque<Finding> recent_;
  std::map<AnomalyKind, uint64_t> found_;
};

}  // namespace eccl::anomaly
