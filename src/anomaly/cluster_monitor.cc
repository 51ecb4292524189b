#include "src/anomaly/cluster_monitor.h"

#include <algorithm>
#include <cstdio>

namespace eccl::anomaly {

namespace {

constexpr size_t kRecentFindings = 64;

double millis(MonitorClock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

const protocol::LinkReport* linkTo(const protocol::PeerReport& report, const EndpointId& peer) {
  for (const protocol::LinkReport& link : report.links) {
    if (link.peer == peer) return &link;
  }
  return nullptr;
}

// A counter's growth between two reports; a counter that went down was reset
// (a new channel), and counts from zero.
uint64_t growth(uint64_t before, uint64_t after) {
  return after >= before ? after - before : after;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  const size_t mid = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid), values.end());
  double m = values[mid];
  if (values.size() % 2 == 0) {
    m = (m + *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(mid))) /
        2;
  }
  return m;
}

bool inOp(protocol::RunningPhase phase) {
  return phase == protocol::RunningPhase::kHeaders || phase == protocol::RunningPhase::kData ||
         phase == protocol::RunningPhase::kCompletion;
}

std::string formatMs(double ms) {
  char text[32];
  std::snprintf(text, sizeof text, "%.0f ms", ms);
  return text;
}

}  // namespace

const char* anomalyKindName(AnomalyKind kind) {
  switch (kind) {
    case AnomalyKind::kHungPeer:
      return "hung_peer";
    case AnomalyKind::kStraggler:
      return "straggler";
  }
  return "unknown";
}

ClusterMonitor::ClusterMonitor(DetectorSettings settings) : settings_(settings) {}

void ClusterMonitor::onReport(const EndpointId& peer, const std::string& group,
                              const protocol::PeerReport& report, MonitorClock::time_point now) {
  Tracked& tracked = peers_[peer];
  if (tracked.group != group) tracked = Tracked{group, {}, false, false, std::nullopt};
  tracked.samples.push_back({now, report});
  // Keep the window and the last sample before it (the baseline of differences).
  const auto start = now - settings_.window;
  while (tracked.samples.size() >= 2 && tracked.samples[1].at <= start)
    tracked.samples.pop_front();
}

void ClusterMonitor::forget(const EndpointId& peer) {
  peers_.erase(peer);
}

double ClusterMonitor::lateMs(const EndpointId& peer, const std::string& group) const {
  uint64_t late_ns = 0;
  for (const auto& [reporter, tracked] : peers_) {
    if (reporter == peer || tracked.group != group || tracked.samples.empty()) continue;
    const protocol::LinkReport* latest = linkTo(tracked.samples.back().report, peer);
    if (latest == nullptr) continue;
    const protocol::LinkReport* base = linkTo(tracked.samples.front().report, peer);
    late_ns += growth(base != nullptr ? base->wait_ns : 0, latest->wait_ns);
  }
  return static_cast<double>(late_ns) / 1e6;
}

void ClusterMonitor::record(Finding finding) {
  ++found_[finding.kind];
  recent_.push_back(std::move(finding));
  if (recent_.size() > kRecentFindings) recent_.pop_front();
}

std::vector<Finding> ClusterMonitor::check(MonitorClock::time_point now) {
  std::vector<Finding> fresh;
  auto isFresh = [&](const Tracked& t) {
    return !t.samples.empty() && now - t.samples.back().at <= settings_.window;
  };

  // Hung peers: who fresh peers of its ring are blocked on, in the header phase, for long.
  std::map<EndpointId, double> blocked_ms;  // the longest block on each peer
  for (const auto& [id, tracked] : peers_) {
    if (!isFresh(tracked)) continue;
    const protocol::PeerReport& r = tracked.samples.back().report;
    if (r.running_phase != protocol::RunningPhase::kHeaders || r.waiting_on.isZero()) continue;
    auto target = peers_.find(r.waiting_on);
    if (target == peers_.end() || target->second.group != tracked.group ||
        !isFresh(target->second)) {
      continue;
    }
    const protocol::PeerReport& t = target->second.samples.back().report;
    // It entered that op, or waits for somebody itself: not where the chain ends.
    if ((inOp(t.running_phase) && t.running_tag == r.running_tag) || !t.waiting_on.isZero()) {
      continue;
    }
    const double ms = r.waiting_ms + millis(now - tracked.samples.back().at);
    double& longest = blocked_ms[r.waiting_on];
    longest = std::max(longest, ms);
  }
  const double hung_ms = static_cast<double>(settings_.hung_after.count());
  for (auto& [id, tracked] : peers_) {
    auto blocked = blocked_ms.find(id);
    const bool hung = blocked != blocked_ms.end() && blocked->second >= hung_ms;
    if (hung && !tracked.hung) {
      Finding finding{AnomalyKind::kHungPeer,
                      id,
                      tracked.group,
                      blocked->second,
                      hung_ms,
                      "peer " + id.shortHex() + " of group \"" + tracked.group +
                          "\" is hung: its ring neighbours have waited " +
                          formatMs(blocked->second) +
                          " for it to enter their collective, and it is in none (ops completed " +
                          std::to_string(tracked.samples.back().report.ops_completed) + ")",
                      now};
      record(finding);
      fresh.push_back(std::move(finding));
    }
    tracked.hung = hung;
  }

  // Stragglers, ring by ring.
  std::map<std::string, std::vector<std::pair<EndpointId, double>>> lateness;
  for (const auto& [id, tracked] : peers_) {
    if (isFresh(tracked)) lateness[tracked.group].push_back({id, lateMs(id, tracked.group)});
  }
  const double window_ms = static_cast<double>(settings_.window.count());
  const double floor_ms = settings_.min_late_share * window_ms;
  for (const auto& [group, lates] : lateness) {
    for (const auto& [id, late] : lates) {
      std::vector<double> others;
      for (const auto& [other, other_late] : lates) {
        if (other != id) others.push_back(other_late);
      }
      Tracked& tracked = peers_.at(id);
      const double typical = median(others);
      const double threshold = std::max(floor_ms, settings_.late_factor * typical);
      const bool late_now = !others.empty() && late >= threshold;
      if (!late_now) {
        tracked.late_since.reset();
        tracked.straggler = false;
        continue;
      }
      if (!tracked.late_since) tracked.late_since = now;
      if (tracked.straggler || now - *tracked.late_since < settings_.confirm_for) continue;
      tracked.straggler = true;
      Finding finding{AnomalyKind::kStraggler,
                      id,
                      group,
                      late,
                      threshold,
                      "peer " + id.shortHex() + " of group \"" + group +
                          "\" straggles: in the last " + formatMs(window_ms) +
                          ", its neighbours waited " + formatMs(late) +
                          " (summed over them) for it to enter their collectives; the other "
                          "peers of its ring, " +
                          formatMs(typical) + " (the median)",
                      now};
      record(finding);
      fresh.push_back(std::move(finding));
    }
  }
  return fresh;
}

std::vector<PeerHealth> ClusterMonitor::peers(MonitorClock::time_point now) const {
  std::vector<PeerHealth> out;
  for (const auto& [id, tracked] : peers_) {
    if (tracked.samples.empty()) continue;
    const Sample& latest = tracked.samples.back();
    const protocol::PeerReport& r = latest.report;
    PeerHealth health;
    health.peer = id;
    health.group = tracked.group;
    health.ops_completed = r.ops_completed;
    health.ops_failed = r.ops_failed;
    health.running_phase = r.running_phase;
    health.running_tag = r.running_tag;
    health.running_ms = r.running_ms;
    health.waiting_on = r.waiting_on;
    health.waiting_ms =
        r.waiting_on.isZero() ? 0 : r.waiting_ms + static_cast<uint32_t>(millis(now - latest.at));
    health.late_ms = lateMs(id, tracked.group);
    health.hung = tracked.hung;
    health.straggler = tracked.straggler;
    out.push_back(std::move(health));
  }
  return out;
}

std::vector<LinkRate> ClusterMonitor::links() const {
  std::vector<LinkRate> out;
  for (const auto& [id, tracked] : peers_) {
    if (tracked.samples.size() < 2) continue;
    const Sample& first = tracked.samples.front();
    const Sample& last = tracked.samples.back();
    const double seconds = std::chrono::duration<double>(last.at - first.at).count();
    if (seconds <= 0) continue;
    for (const protocol::LinkReport& link : last.report.links) {
      const protocol::LinkReport* base = linkTo(first.report, link.peer);
      const uint64_t bytes = growth(base != nullptr ? base->bytes_sent : 0, link.bytes_sent);
      out.push_back({id, link.peer, tracked.group, static_cast<double>(bytes) / seconds});
    }
  }
  return out;
}

uint64_t ClusterMonitor::found(AnomalyKind kind) const {
  auto it = found_.find(kind);
  return it == found_.end() ? 0 : it->second;
}

}  // namespace eccl::anomaly
