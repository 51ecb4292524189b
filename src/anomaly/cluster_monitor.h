// The master's anomaly detectors: they keep every accepted peer's recent
// PeerReports (sent with its heartbeats) and compare the peers of one ring,
// in the manner of the C4 paper: what one peer reports about its neighbours
// tells who the ring waits for.
//
//  - A hung peer: its ring neighbours have been blocked on its op header for
//    `hung_after`, while it is in no op with their tag (it never entered the
//    op; its heartbeats still arrive, or the heartbeat limit would remove it).
//    Or: the rest of its ring voted for a topology update `hung_after` ago
//    and waits for its vote (a trainer that updates before each step blocks
//    there, not in a collective).
//  - A straggler: over the last `window`, its ring spent a share of the
//    window waiting for it that is both above `min_late_share` and
//    `late_factor` times the median of the other peers of its ring, without
//    a break for `confirm_for`. Waiting for it is: its neighbours blocked on
//    its op header (only the straggler's neighbours wait for its header; the
//    rest of the ring waits for data, which is why lateness, not plain
//    waiting, singles it out), and, in each topology update, the time from
//    the first vote to its vote.
//  - A slow link: over the window its sender's bytes waited on it (queued or
//    in flight in the kernel: the link, not the peers, set the pace) for a
//    share of the time that is above
//    `min_busy_share` and `busy_factor` times the median of the ring's other
//    links, for `confirm_for`. A bottleneck link stays busy while the rest of
//    the ring, paced by it, idles.
//  - A slow node: every ring link to and from one peer is that busy, measured
//    against the links that do not touch it (one finding instead of two).
//  - A frozen link: bytes wait on it and none has moved for `frozen_after`.
//
// A condition is a Finding once, when it starts; it may be found again after
// it cleared. Single-threaded (the master's loop).
#pragma once

#include <chrono>
#include <compare>
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
  // A link busy half the window is the ring's bottleneck when the ring's
  // other links are busy a third as long or less.
  double min_busy_share = 0.5;
  double busy_factor = 3.0;
  std::chrono::milliseconds frozen_after{10'000};
};

using protocol::AnomalyKind;
// "hung_peer", "straggler", "slow_link", "slow_node", "frozen_link".
const char* anomalyKindName(AnomalyKind kind);

struct Finding {
  AnomalyKind kind = AnomalyKind::kHungPeer;
  EndpointId peer;     // the hung peer, the straggler, the slow node, a link's sender
  EndpointId link_to;  // a link's receiver; zero for the others
  std::string group;
  // Hung: how long its neighbours have been blocked on it (ms). Straggler: how
  // late it was to its neighbours' ops over the window (ms, summed over them).
  // Slow link or node: the share of the window the link was busy (the lesser
  // of the node's links). Frozen link: how long no byte moved (ms).
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
  bool slow_node = false;
};

// One link as its sender reports it, over the window.
struct LinkRate {
  EndpointId from;
  EndpointId to;
  std::string group;
  double bytes_per_s = 0;
  double busy_share = 0;    // of the window, the time bytes waited on the link
  uint32_t stalled_ms = 0;  // bytes wait and none moved for this long (latest report)
  bool slow = false;        // part of a slow-link or slow-node condition
  bool frozen = false;
};

class ClusterMonitor {
 public:
  explicit ClusterMonitor(DetectorSettings settings = {});

  void onReport(const EndpointId& peer, const std::string& group,
                const protocol::PeerReport& report, MonitorClock::time_point now);
  // A topology update of `group` completed: how long after the round's first
  // vote this accepted member voted (the master sees every vote).
  void onVoteLateness(const EndpointId& peer, const std::string& group, MonitorClock::duration late,
                      MonitorClock::time_point now);
  // The accepted members of a group that voted in none of its open update
  // rounds while all the others did, with how long ago the last of those
  // voted; replaces the previous call's (none: nobody waits for a vote).
  void setVoteWaits(std::map<EndpointId, MonitorClock::duration> waits);
  // The peer left its ring (removed, or back to pending): its reports go.
  void forget(const EndpointId& peer);
  // Runs the detectors; returns the conditions that started since the last call.
  std::vector<Finding> check(MonitorClock::time_point now);

  std::vector<PeerHealth> peers(MonitorClock::time_point now) const;
  std::vector<LinkRate> links(MonitorClock::time_point now) const;
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
    // How late it voted in the window's topology updates (ms), oldest first.
    std::deque<std::pair<MonitorClock::time_point, double>> vote_late;
    bool hung = false;
    bool straggler = false;
    bool slow_node = false;
    std::optional<MonitorClock::time_point> late_since;  // the straggler condition holds since
    std::optional<MonitorClock::time_point> node_slow_since;
  };
  struct LinkKey {
    EndpointId from, to;
    auto operator<=>(const LinkKey&) const = default;
  };
  struct LinkCondition {
    std::optional<MonitorClock::time_point> slow_since;
    bool slow = false;  // found (as a link, or as part of a slow node)
    bool frozen = false;
  };
  struct LinkWindow {
    LinkKey key;
    std::string group;
    double bytes_per_s = 0;
    double busy_share = 0;
    uint32_t stalled_ms = 0;  // the latest report's, aged to now
  };

  // How late each peer was to the other peers of its group over the window:
  // what they report waiting for its header (their latest totals minus those
  // at the window's start) plus its lateness in the updates' votes (ms).
  std::map<EndpointId, double> lateness(MonitorClock::time_point now) const;
  // Every reported link of a fresh reporter, over the window.
  std::vector<LinkWindow> linkWindows(MonitorClock::time_point now) const;
  bool isFresh(const Tracked& tracked, MonitorClock::time_point now) const;
  void checkHung(MonitorClock::time_point now, std::vector<Finding>& fresh);
  void checkStragglers(MonitorClock::time_point now, std::vector<Finding>& fresh);
  void checkSlowLinks(const std::vector<LinkWindow>& links, MonitorClock::time_point now,
                      std::vector<Finding>& fresh);
  void checkFrozenLinks(const std::vector<LinkWindow>& links, MonitorClock::time_point now,
                        std::vector<Finding>& fresh);
  void record(Finding finding, std::vector<Finding>& fresh);

  const DetectorSettings settings_;
  std::map<EndpointId, Tracked> peers_;
  std::map<EndpointId, MonitorClock::duration> vote_waits_;
  std::map<LinkKey, LinkCondition> link_conditions_;
  std::deque<Finding> recent_;
  std::map<AnomalyKind, uint64_t> found_;
};

}  // namespace eccl::anomaly
