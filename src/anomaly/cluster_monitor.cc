#include "src/anomaly/cluster_monitor.h"

#include <algorithm>
#include <cstdio>
#include <set>

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

std::string formatShare(double share) {
  char text[32];
  std::snprintf(text, sizeof text, "%.0f%%", share * 100);
  return text;
}

std::string formatRate(double bytes_per_s) {
  char text[32];
  std::snprintf(text, sizeof text, "%.1f MB/s", bytes_per_s / 1e6);
  return text;
}

}  // namespace

const char* anomalyKindName(AnomalyKind kind) {
  switch (kind) {
    case AnomalyKind::kHungPeer:
      return "hung_peer";
    case AnomalyKind::kStraggler:
      return "straggler";
    case AnomalyKind::kSlowLink:
      return "slow_link";
    case AnomalyKind::kSlowNode:
      return "slow_node";
    case AnomalyKind::kFrozenLink:
      return "frozen_link";
  }
  return "unknown";
}

ClusterMonitor::ClusterMonitor(DetectorSettings settings) : settings_(settings) {}

void ClusterMonitor::onReport(const EndpointId& peer, const std::string& group,
                              const protocol::PeerReport& report, MonitorClock::time_point now) {
  Tracked& tracked = peers_[peer];
  if (tracked.group != group) tracked = Tracked{.group = group};
  tracked.samples.push_back({now, report});
  // Keep the window and the last sample before it (the baseline of differences).
  const auto start = now - settings_.window;
  while (tracked.samples.size() >= 2 && tracked.samples[1].at <= start)
    tracked.samples.pop_front();
}

void ClusterMonitor::onVoteLateness(const EndpointId& peer, const std::string& group,
                                    MonitorClock::duration late, MonitorClock::time_point now) {
  Tracked& tracked = peers_[peer];
  if (tracked.group != group) tracked = Tracked{.group = group};
  tracked.vote_late.emplace_back(now, millis(late));
  while (!tracked.vote_late.empty() && tracked.vote_late.front().first <= now - settings_.window)
    tracked.vote_late.pop_front();
}

void ClusterMonitor::setVoteWaits(std::map<EndpointId, MonitorClock::duration> waits) {
  vote_waits_ = std::move(waits);
}

void ClusterMonitor::forget(const EndpointId& peer) {
  peers_.erase(peer);
  vote_waits_.erase(peer);
  std::erase_if(link_conditions_, [&](const auto& entry) {
    return entry.first.from == peer || entry.first.to == peer;
  });
}

bool ClusterMonitor::isFresh(const Tracked& tracked, MonitorClock::time_point now) const {
  return !tracked.samples.empty() && now - tracked.samples.back().at <= settings_.window;
}

std::map<EndpointId, double> ClusterMonitor::lateness(MonitorClock::time_point now) const {
  std::map<EndpointId, double> late_ms;
  for (const auto& [id, tracked] : peers_) {
    for (const auto& [at, ms] : tracked.vote_late) {
      if (at > now - settings_.window) late_ms[id] += ms;
    }
  }
  for (const auto& [reporter, tracked] : peers_) {
    if (tracked.samples.empty()) continue;
    const protocol::PeerReport& first = tracked.samples.front().report;
    for (const protocol::LinkReport& link : tracked.samples.back().report.links) {
      auto target = peers_.find(link.peer);
      if (target == peers_.end() || target->second.group != tracked.group) continue;
      const protocol::LinkReport* base = linkTo(first, link.peer);
      late_ms[link.peer] +=
          static_cast<double>(growth(base != nullptr ? base->wait_ns : 0, link.wait_ns)) / 1e6;
    }
  }
  return late_ms;
}

std::vector<ClusterMonitor::LinkWindow> ClusterMonitor::linkWindows(
    MonitorClock::time_point now) const {
  std::vector<LinkWindow> out;
  for (const auto& [id, tracked] : peers_) {
    if (!isFresh(tracked, now)) continue;
    const Sample& first = tracked.samples.front();
    const Sample& last = tracked.samples.back();
    const double seconds = std::chrono::duration<double>(last.at - first.at).count();
    for (const protocol::LinkReport& link : last.report.links) {
      LinkWindow window;
      window.key = {id, link.peer};
      window.group = tracked.group;
      if (link.send_stalled_ms != 0) {
        window.stalled_ms = static_cast<uint32_t>(std::min<double>(
            link.send_stalled_ms + millis(now - last.at), static_cast<double>(UINT32_MAX)));
      }
      const protocol::LinkReport* base = linkTo(first.report, link.peer);
      if (seconds > 0) {
        const uint64_t bytes = growth(base != nullptr ? base->bytes_sent : 0, link.bytes_sent);
        // Busy time is its busiest connection's, and connections may be
        // replaced: a total that went down counts as no growth, not as the
        // whole history.
        const uint64_t before = base != nullptr ? base->send_busy_ns : 0;
        const uint64_t busy_ns = link.send_busy_ns >= before ? link.send_busy_ns - before : 0;
        window.bytes_per_s = static_cast<double>(bytes) / seconds;
        window.busy_share = std::min(1.0, static_cast<double>(busy_ns) / 1e9 / seconds);
      }
      out.push_back(std::move(window));
    }
  }
  return out;
}

void ClusterMonitor::record(Finding finding, std::vector<Finding>& fresh) {
  ++found_[finding.kind];
  recent_.push_back(finding);
  if (recent_.size() > kRecentFindings) recent_.pop_front();
  fresh.push_back(std::move(finding));
}

std::vector<Finding> ClusterMonitor::check(MonitorClock::time_point now) {
  std::vector<Finding> fresh;
  checkHung(now, fresh);
  checkStragglers(now, fresh);
  const std::vector<LinkWindow> links = linkWindows(now);
  checkSlowLinks(links, now, fresh);
  checkFrozenLinks(links, now, fresh);
  // Links in no condition need no entry.
  std::erase_if(link_conditions_, [](const auto& entry) {
    return !entry.second.slow && !entry.second.frozen && !entry.second.slow_since;
  });
  return fresh;
}

void ClusterMonitor::checkHung(MonitorClock::time_point now, std::vector<Finding>& fresh) {
  // Who fresh peers of its ring are blocked on, in the header phase, for long.
  std::map<EndpointId, double> blocked_ms;  // the longest block on each peer
  for (const auto& [id, tracked] : peers_) {
    if (!isFresh(tracked, now)) continue;
    const protocol::PeerReport& r = tracked.samples.back().report;
    if (r.running_phase != protocol::RunningPhase::kHeaders || r.waiting_on.isZero()) continue;
    auto target = peers_.find(r.waiting_on);
    if (target == peers_.end() || target->second.group != tracked.group ||
        !isFresh(target->second, now)) {
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
    auto vote = vote_waits_.find(id);
    const double vote_ms = vote == vote_waits_.end() ? 0.0 : millis(vote->second);
    const bool in_op = blocked != blocked_ms.end() && blocked->second >= hung_ms;
    const bool in_update = vote_ms >= hung_ms;
    const bool hung = in_op || in_update;
    if (hung && !tracked.hung) {
      const uint64_t ops =
          tracked.samples.empty() ? 0 : tracked.samples.back().report.ops_completed;
      const std::string who = "peer " + id.shortHex() + " of group \"" + tracked.group + "\"";
      record(
          {AnomalyKind::kHungPeer,
           id,
           {},
           tracked.group,
           in_op ? blocked->second : vote_ms,
           hung_ms,
           in_op ? who + " is hung: its ring neighbours have waited " + formatMs(blocked->second) +
                       " for it to enter their collective, and it is in none (ops completed " +
                       std::to_string(ops) + ")"
                 : who + " is hung: the rest of its ring voted for a topology update " +
                       formatMs(vote_ms) + " ago and waits for its vote (ops completed " +
                       std::to_string(ops) + ")",
           now},
          fresh);
    }
    tracked.hung = hung;
  }
}

void ClusterMonitor::checkStragglers(MonitorClock::time_point now, std::vector<Finding>& fresh) {
  const std::map<EndpointId, double> late_ms = lateness(now);
  auto lateOf = [&](const EndpointId& id) {
    auto it = late_ms.find(id);
    return it == late_ms.end() ? 0.0 : it->second;
  };
  std::map<std::string, std::vector<EndpointId>> rings;
  for (const auto& [id, tracked] : peers_) {
    if (isFresh(tracked, now)) rings[tracked.group].push_back(id);
  }
  const double window_ms = static_cast<double>(settings_.window.count());
  const double floor_ms = settings_.min_late_share * window_ms;
  for (const auto& [group, members] : rings) {
    for (const EndpointId& id : members) {
      std::vector<double> others;
      for (const EndpointId& other : members) {
        if (other != id) others.push_back(lateOf(other));
      }
      Tracked& tracked = peers_.at(id);
      const double late = lateOf(id);
      const double typical = median(others);
      const double threshold = std::max(floor_ms, settings_.late_factor * typical);
      if (others.empty() || late < threshold) {
        tracked.late_since.reset();
        tracked.straggler = false;
        continue;
      }
      if (!tracked.late_since) tracked.late_since = now;
      if (tracked.straggler || now - *tracked.late_since < settings_.confirm_for) continue;
      tracked.straggler = true;
      record({AnomalyKind::kStraggler,
              id,
              {},
              group,
              late,
              threshold,
              "peer " + id.shortHex() + " of group \"" + group + "\" straggles: in the last " +
                  formatMs(window_ms) + ", its ring waited " + formatMs(late) +
                  " for it (its neighbours for it to enter their collectives, summed over "
                  "them, and the first voter for its vote in topology updates); the other "
                  "peers of its ring, " +
                  formatMs(typical) + " (the median)",
              now},
             fresh);
    }
  }
}

void ClusterMonitor::checkSlowLinks(const std::vector<LinkWindow>& links,
                                    MonitorClock::time_point now, std::vector<Finding>& fresh) {
  // Only the links that carry the ring's data are judged, against each other:
  // at least a tenth of the rate of the ring's busiest link. The rest carry op
  // headers and completions against the data's direction (whose kernel busy
  // time is mostly delayed ACKs), or belong to pooled channels the ring no
  // longer uses.
  std::map<std::string, double> most_bytes_per_s;
  for (const LinkWindow& link : links) {
    double& most = most_bytes_per_s[link.group];
    most = std::max(most, link.bytes_per_s);
  }
  std::map<std::string, std::vector<const LinkWindow*>> rings;
  for (const LinkWindow& link : links) {
    auto receiver = peers_.find(link.key.to);
    if (link.bytes_per_s > 0 && link.bytes_per_s >= 0.1 * most_bytes_per_s[link.group] &&
        receiver != peers_.end() && receiver->second.group == link.group) {
      rings[link.group].push_back(&link);
    }
  }
  // The busy share a link must reach to be slow, against the compared links.
  auto busyThreshold = [&](const std::vector<const LinkWindow*>& ring,
                           auto&& compared) -> std::optional<double> {
    std::vector<double> shares;
    for (const LinkWindow* other : ring) {
      if (compared(*other)) shares.push_back(other->busy_share);
    }
    if (shares.empty()) return std::nullopt;
    return std::max(settings_.min_busy_share, settings_.busy_factor * median(std::move(shares)));
  };
  // True once the condition has held for confirm_for.
  auto confirmed = [&](std::optional<MonitorClock::time_point>& since, bool holds) {
    if (!holds) {
      since.reset();
      return false;
    }
    if (!since) since = now;
    return now - *since >= settings_.confirm_for;
  };
  const double window_ms = static_cast<double>(settings_.window.count());
  std::set<LinkKey> still_slow;
  for (const auto& [group, ring] : rings) {
    // Slow nodes first: every carrying link of a peer busy (two at least),
    // against the links that do not touch it.
    std::set<LinkKey> of_slow_nodes;
    std::set<EndpointId> nodes_pending;  // a slow node's condition holds, not confirmed yet
    std::set<EndpointId> endpoints;
    for (const LinkWindow* link : ring) {
      endpoints.insert(link->key.from);
      endpoints.insert(link->key.to);
    }
    for (const EndpointId& id : endpoints) {
      Tracked& tracked = peers_.at(id);
      auto touches = [&](const LinkWindow& l) { return l.key.from == id || l.key.to == id; };
      const auto threshold = busyThreshold(ring, [&](const LinkWindow& l) { return !touches(l); });
      double least = 1;
      size_t touching = 0;
      bool all_busy = threshold.has_value();
      for (const LinkWindow* link : ring) {
        if (!touches(*link)) continue;
        ++touching;
        least = std::min(least, link->busy_share);
        all_busy = all_busy && link->busy_share >= *threshold;
      }
      if (!confirmed(tracked.node_slow_since, all_busy && touching >= 2)) {
        tracked.slow_node = false;
        if (tracked.node_slow_since) nodes_pending.insert(id);
        continue;
      }
      for (const LinkWindow* link : ring) {
        if (touches(*link)) of_slow_nodes.insert(link->key);
      }
      if (tracked.slow_node) continue;
      tracked.slow_node = true;
      record({AnomalyKind::kSlowNode,
              id,
              {},
              group,
              least,
              *threshold,
              "peer " + id.shortHex() + " of group \"" + group +
                  "\" is a slow node: each of its ring links was busy (its bytes waiting in "
                  "the sender's kernel) at least " +
                  formatShare(least) + " of the last " + formatMs(window_ms) + " (threshold " +
                  formatShare(*threshold) + ", from the ring's links that do not touch it)",
              now},
             fresh);
    }
    for (const LinkWindow* link : ring) {
      LinkCondition& condition = link_conditions_[link->key];
      const bool of_node = of_slow_nodes.count(link->key) != 0;
      const auto threshold =
          busyThreshold(ring, [&](const LinkWindow& l) { return !(l.key == link->key); });
      const bool is_slow =
          confirmed(condition.slow_since, threshold.has_value() && link->busy_share >= *threshold);
      if (!is_slow && !of_node) {
        condition.slow = false;
        continue;
      }
      still_slow.insert(link->key);
      // A node that may soon be found slow would cover this link: wait for it.
      if (!condition.slow &&
          (nodes_pending.count(link->key.from) != 0 || nodes_pending.count(link->key.to) != 0)) {
        continue;
      }
      const bool known = condition.slow;
      condition.slow = true;
      if (known || of_node) continue;  // found before, or the node's finding covers it
      record({AnomalyKind::kSlowLink, link->key.from, link->key.to, group, link->busy_share,
              *threshold,
              "link " + link->key.from.shortHex() + " -> " + link->key.to.shortHex() +
                  " of group \"" + group + "\" is slow: its sender's bytes waited on it " +
                  formatShare(link->busy_share) + " of the last " + formatMs(window_ms) +
                  " (threshold " + formatShare(*threshold) +
                  ", from the ring's other links), carrying " + formatRate(link->bytes_per_s),
              now},
             fresh);
    }
  }
  // A link that no longer carries the ring's data, or left its ring, is slow
  // no more, and starts afresh when it is judged again.
  std::set<LinkKey> judged;
  for (const auto& [group, ring] : rings) {
    for (const LinkWindow* link : ring)
      judged.insert(link->key);
  }
  for (auto& [key, condition] : link_conditions_) {
    if (still_slow.count(key) == 0) condition.slow = false;
    if (judged.count(key) == 0) condition.slow_since.reset();
  }
}

void ClusterMonitor::checkFrozenLinks(const std::vector<LinkWindow>& links,
                                      MonitorClock::time_point now, std::vector<Finding>& fresh) {
  const double frozen_ms = static_cast<double>(settings_.frozen_after.count());
  std::set<LinkKey> frozen;
  for (const LinkWindow& link : links) {
    if (link.stalled_ms < frozen_ms) continue;
    frozen.insert(link.key);
    LinkCondition& condition = link_conditions_[link.key];
    if (condition.frozen) continue;
    condition.frozen = true;
    record({AnomalyKind::kFrozenLink, link.key.from, link.key.to, link.group,
            static_cast<double>(link.stalled_ms), frozen_ms,
            "link " + link.key.from.shortHex() + " -> " + link.key.to.shortHex() + " of group \"" +
                link.group + "\" is frozen: bytes wait to go and none has moved for " +
                formatMs(link.stalled_ms),
            now},
           fresh);
  }
  for (auto& [key, condition] : link_conditions_) {
    if (frozen.count(key) == 0) condition.frozen = false;
  }
}

std::vector<PeerHealth> ClusterMonitor::peers(MonitorClock::time_point now) const {
  const std::map<EndpointId, double> late_ms = lateness(now);
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
    if (auto late = late_ms.find(id); late != late_ms.end()) health.late_ms = late->second;
    health.hung = tracked.hung;
    health.straggler = tracked.straggler;
    health.slow_node = tracked.slow_node;
    out.push_back(std::move(health));
  }
  return out;
}

std::vector<LinkRate> ClusterMonitor::links(MonitorClock::time_point now) const {
  std::vector<LinkRate> out;
  for (const LinkWindow& window : linkWindows(now)) {
    LinkRate rate{window.key.from,    window.key.to,     window.group,
                  window.bytes_per_s, window.busy_share, window.stalled_ms};
    if (auto condition = link_conditions_.find(window.key); condition != link_conditions_.end()) {
      rate.slow = condition->second.slow;
      rate.frozen = condition->second.frozen;
    }
    out.push_back(std::move(rate));
  }
  return out;
}

uint64_t ClusterMonitor::found(AnomalyKind kind) const {
  auto it = found_.find(kind);
  return it == found_.end() ? 0 : it->second;
}

}  // namespace eccl::anomaly
