// anomaly::ClusterMonitor on made-up reports: a hung peer is where the chain
// of blocked peers ends, not a peer that is in the op or blocked itself; a
// straggler is the peer its neighbours wait for to enter their ops, found once
// the condition held for confirm_for, and found again only after it cleared;
// an even ring, and a ring whose lateness is spread evenly, raise nothing.
#include "src/anomaly/cluster_monitor.h"

#include <gtest/gtest.h>

#include <map>
#include <vector>

namespace eccl::anomaly {
namespace {

using namespace std::chrono_literals;
using protocol::LinkReport;
using protocol::PeerReport;
using protocol::RunningPhase;

class Ring {
 public:
  explicit Ring(size_t n, DetectorSettings settings = defaults()) : monitor(settings) {
    for (size_t i = 0; i < n; ++i)
      ids.push_back(EndpointId::random());
    now = MonitorClock::time_point() + 1h;
  }
  static DetectorSettings defaults() {
    DetectorSettings s;
    s.hung_after = 1000ms;
    s.window = 2000ms;
    s.confirm_for = 500ms;
    s.frozen_after = 1000ms;
    return s;
  }
  size_t prev(size_t r) const { return (r + ids.size() - 1) % ids.size(); }
  size_t next(size_t r) const { return (r + 1) % ids.size(); }

  // Every peer reports; `late_ns[r][q]`: how much more peer r waited for q's header.
  void report(const std::map<size_t, std::map<size_t, uint64_t>>& more_late = {}) {
    for (size_t r = 0; r < ids.size(); ++r) {
      PeerReport rep = base(r);
      for (size_t q : {prev(r), next(r)}) {
        uint64_t& total = late[r][q];
        auto row = more_late.find(r);
        if (row != more_late.end() && row->second.count(q)) total += row->second.at(q);
        rep.links.push_back({ids[q], 1000, 1000, total});
      }
      monitor.onReport(ids[r], "g", rep, now);
    }
  }
  PeerReport base(size_t r) {
    PeerReport rep;
    rep.revision = 3;
    rep.ops_completed = completed[r];
    if (auto it = running.find(r); it != running.end()) rep = it->second;
    rep.revision = 3;
    return rep;
  }
  // Every peer reports its link to the next one after `by` of ring traffic:
  // 1 MB more sent, its sender blocked busy[r] of the time (default `idle`).
  void reportTraffic(const std::map<size_t, double>& busy, double idle,
                     std::chrono::milliseconds by, uint32_t stalled_ms = 0) {
    for (size_t r = 0; r < ids.size(); ++r) {
      auto share = busy.find(r);
      sent[r] += 1'000'000;
      blocked[r] += static_cast<uint64_t>((share != busy.end() ? share->second : idle) *
                                          std::chrono::nanoseconds(by).count());
      PeerReport rep = base(r);
      LinkReport link;
      link.peer = ids[next(r)];
      link.bytes_sent = sent[r];
      link.send_busy_ns = blocked[r];
      link.send_stalled_ms = r == 0 ? stalled_ms : 0;
      rep.links.push_back(link);
      monitor.onReport(ids[r], "g", rep, now);
    }
  }
  // Traffic reports and checks every 100 ms for `for_`; the findings.
  std::vector<Finding> run(const std::map<size_t, double>& busy, double idle,
                           std::chrono::milliseconds for_) {
    std::vector<Finding> found;
    for (auto t = 0ms; t < for_; t += 100ms) {
      reportTraffic(busy, idle, 100ms);
      for (Finding& f : advance(100ms))
        found.push_back(std::move(f));
    }
    return found;
  }
  std::vector<Finding> advance(std::chrono::milliseconds by) {
    now += by;
    return monitor.check(now);
  }

  ClusterMonitor monitor;
  std::vector<EndpointId> ids;
  MonitorClock::time_point now;
  std::map<size_t, std::map<size_t, uint64_t>> late;
  std::map<size_t, uint64_t> completed;
  std::map<size_t, uint64_t> sent, blocked;
  std::map<size_t, PeerReport> running;  // the running part of a peer's reports
};

PeerReport blockedOn(const EndpointId& on, RunningPhase phase, uint64_t tag, uint32_t ms) {
  PeerReport r;
  r.running_phase = phase;
  r.running_tag = tag;
  r.running_ms = ms;
  r.waiting_on = on;
  r.waiting_ms = ms;
  return r;
}

TEST(ClusterMonitorHung, ThePeerTheRingIsBlockedOnIsHungOnceItLasts) {
  Ring ring(4);
  // Ranks 1 and 3 wait for rank 2's header in op 7; rank 2 is in no op.
  ring.running[1] = blockedOn(ring.ids[2], RunningPhase::kHeaders, 7, 400);
  ring.running[3] = blockedOn(ring.ids[2], RunningPhase::kHeaders, 7, 400);
  ring.report();
  EXPECT_TRUE(ring.advance(100ms).empty());  // blocked 500 ms < 1000 ms
  ring.running[1] = blockedOn(ring.ids[2], RunningPhase::kHeaders, 7, 900);
  ring.running[3] = blockedOn(ring.ids[2], RunningPhase::kHeaders, 7, 950);
  ring.report();
  std::vector<Finding> found = ring.advance(100ms);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, AnomalyKind::kHungPeer);
  EXPECT_EQ(found[0].peer, ring.ids[2]);
  EXPECT_EQ(found[0].group, "g");
  EXPECT_DOUBLE_EQ(found[0].value, 1050.0);  // 950 ms reported + 100 ms since
  EXPECT_DOUBLE_EQ(found[0].threshold, 1000.0);
  EXPECT_NE(found[0].evidence.find("is hung"), std::string::npos);
  // Found once while it lasts.
  EXPECT_TRUE(ring.advance(100ms).empty());
  EXPECT_EQ(ring.monitor.found(AnomalyKind::kHungPeer), 1u);
  bool flagged = false;
  for (const PeerHealth& p : ring.monitor.peers(ring.now))
    flagged = flagged || (p.peer == ring.ids[2] && p.hung);
  EXPECT_TRUE(flagged);
}

TEST(ClusterMonitorHung, APeerInTheOpOrBlockedItselfIsNotHung) {
  Ring ring(4);
  ring.running[1] = blockedOn(ring.ids[2], RunningPhase::kHeaders, 7, 5000);
  // Rank 2 is in op 7 (its header is on the way, say over a slow link).
  ring.running[2] = blockedOn(EndpointId(), RunningPhase::kData, 7, 5000);
  ring.running[2].waiting_ms = 0;
  ring.report();
  EXPECT_TRUE(ring.advance(10ms).empty());
  // Rank 2 is in an earlier op, blocked on rank 3: the chain goes on to rank 3,
  // which is in op 6 too: nobody is hung.
  ring.running[2] = blockedOn(ring.ids[3], RunningPhase::kData, 6, 5000);
  ring.running[3] = blockedOn(EndpointId(), RunningPhase::kData, 6, 5000);
  ring.running[3].waiting_ms = 0;
  ring.report();
  EXPECT_TRUE(ring.advance(10ms).empty());
  // A report that stopped coming (its peer may be gone) accuses nobody.
  ring.running.erase(2);
  ring.running.erase(3);
  ring.report();
  ring.now += 3000ms;  // every report is older than the window now
  EXPECT_TRUE(ring.monitor.check(ring.now).empty());
  EXPECT_EQ(ring.monitor.found(AnomalyKind::kHungPeer), 0u);
}

TEST(ClusterMonitorStraggler, ThePeerItsNeighboursWaitForIsFoundOnceConfirmed) {
  Ring ring(4);
  ring.report();
  std::vector<Finding> found;
  // Every 100 ms, ranks 0 and 2 each wait 40 ms for rank 1's header.
  for (int i = 0; i < 30 && found.empty(); ++i) {
    ring.report({{0, {{1, 40'000'000}}}, {2, {{1, 40'000'000}}}});
    found = ring.advance(100ms);
  }
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, AnomalyKind::kStraggler);
  EXPECT_EQ(found[0].peer, ring.ids[1]);
  EXPECT_GE(found[0].value, found[0].threshold);
  EXPECT_NE(found[0].evidence.find("straggles"), std::string::npos);
  // Reported once while it lasts...
  for (int i = 0; i < 10; ++i) {
    ring.report({{0, {{1, 40'000'000}}}, {2, {{1, 40'000'000}}}});
    EXPECT_TRUE(ring.advance(100ms).empty());
  }
  // ...and again after it cleared and came back.
  for (int i = 0; i < 30; ++i) {
    ring.report();
    EXPECT_TRUE(ring.advance(100ms).empty());
  }
  found.clear();
  for (int i = 0; i < 30 && found.empty(); ++i) {
    ring.report({{0, {{1, 40'000'000}}}, {2, {{1, 40'000'000}}}});
    found = ring.advance(100ms);
  }
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(ring.monitor.found(AnomalyKind::kStraggler), 2u);
}

TEST(ClusterMonitorStraggler, EvenRingsAndSpreadLatenessRaiseNothing) {
  Ring ring(4);
  for (int i = 0; i < 50; ++i) {
    // Everybody waits a little for everybody: jitter, not a straggler.
    std::map<size_t, std::map<size_t, uint64_t>> jitter;
    for (size_t r = 0; r < 4; ++r)
      jitter[r] = {{ring.prev(r), 5'000'000}, {ring.next(r), 5'000'000}};
    ring.report(jitter);
    EXPECT_TRUE(ring.advance(100ms).empty()) << "at check " << i;
  }
  // A short burst (shorter than confirm_for) is no straggler either.
  for (int i = 0; i < 3; ++i) {
    ring.report({{0, {{1, 80'000'000}}}, {2, {{1, 80'000'000}}}});
    EXPECT_TRUE(ring.advance(100ms).empty());
  }
  EXPECT_EQ(ring.monitor.found(AnomalyKind::kStraggler), 0u);
}

TEST(ClusterMonitorStraggler, TwoPeersTellTheLateOneFromTheOther) {
  Ring ring(2);
  ring.report();
  std::vector<Finding> found;
  for (int i = 0; i < 30 && found.empty(); ++i) {
    ring.report({{0, {{1, 30'000'000}}}});
    found = ring.advance(100ms);
  }
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].peer, ring.ids[1]);
}

// A trainer that updates its ring before each step makes the others wait in
// the update's vote, not in a collective: the master's vote times count.
TEST(ClusterMonitorStraggler, TheLateVoterOfEveryUpdateIsFound) {
  Ring ring(4);
  std::vector<Finding> found;
  // Every 100 ms an update: rank 3 votes 60 ms after the first vote, the
  // others within 5 ms of it.
  for (int i = 0; i < 40 && found.empty(); ++i) {
    ring.report();
    for (size_t r = 0; r < 4; ++r)
      ring.monitor.onVoteLateness(ring.ids[r], "g", r == 3 ? 60ms : std::chrono::milliseconds(r),
                                  ring.now);
    found = ring.advance(100ms);
  }
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, AnomalyKind::kStraggler);
  EXPECT_EQ(found[0].peer, ring.ids[3]);
  EXPECT_NE(found[0].evidence.find("vote"), std::string::npos) << found[0].evidence;
}

TEST(ClusterMonitorStraggler, VotesSpreadEvenlyRaiseNothing) {
  Ring ring(4);
  for (int i = 0; i < 60; ++i) {
    ring.report();
    // Who votes last changes from round to round (scheduling noise).
    for (size_t r = 0; r < 4; ++r) {
      ring.monitor.onVoteLateness(ring.ids[r], "g", (static_cast<size_t>(i) % 4 == r) ? 30ms : 2ms,
                                  ring.now);
    }
    EXPECT_TRUE(ring.advance(100ms).empty()) << "at check " << i;
  }
}

TEST(ClusterMonitorHung, APeerTheRestOfItsRingWaitsForInAnUpdateIsHung) {
  Ring ring(3);
  ring.report();
  ring.monitor.setVoteWaits({{ring.ids[1], 900ms}});
  EXPECT_TRUE(ring.advance(10ms).empty());
  ring.report();
  ring.monitor.setVoteWaits({{ring.ids[1], 1200ms}});
  std::vector<Finding> found = ring.advance(10ms);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, AnomalyKind::kHungPeer);
  EXPECT_EQ(found[0].peer, ring.ids[1]);
  EXPECT_DOUBLE_EQ(found[0].value, 1200.0);
  EXPECT_NE(found[0].evidence.find("waits for its vote"), std::string::npos) << found[0].evidence;
  // Once: and not again while it lasts; gone when the vote came.
  ring.report();
  EXPECT_TRUE(ring.advance(10ms).empty());
  ring.monitor.setVoteWaits({});
  ring.report();
  EXPECT_TRUE(ring.advance(10ms).empty());
  EXPECT_EQ(ring.monitor.found(AnomalyKind::kHungPeer), 1u);
}

TEST(ClusterMonitor, LinkRatesAndForgetting) {
  Ring ring(3);
  ring.report();
  ring.now += 1000ms;
  PeerReport rep;
  rep.revision = 3;
  rep.links.push_back({ring.ids[1], 1000 + 5'000'000, 0, 0});
  ring.monitor.onReport(ring.ids[0], "g", rep, ring.now);
  bool seen = false;
  for (const LinkRate& link : ring.monitor.links(ring.now)) {
    if (link.from == ring.ids[0] && link.to == ring.ids[1]) {
      seen = true;
      EXPECT_DOUBLE_EQ(link.bytes_per_s, 5'000'000.0);
    }
  }
  EXPECT_TRUE(seen);
  ring.monitor.forget(ring.ids[0]);
  for (const PeerHealth& p : ring.monitor.peers(ring.now))
    EXPECT_NE(p.peer, ring.ids[0]);
}

TEST(ClusterMonitorSlowLink, TheBusyLinkIsFoundOnceConfirmedAndNamedByItsEnds) {
  Ring ring(4);
  ring.reportTraffic({}, 0.1, 100ms);
  ring.advance(100ms);
  // Link 1 -> 2 is the ring's bottleneck: its sender is blocked 90% of the time.
  std::vector<Finding> found = ring.run({{1, 0.9}}, 0.1, 400ms);
  EXPECT_TRUE(found.empty()) << "found before confirm_for";
  for (int i = 0; i < 40 && found.empty(); ++i)
    found = ring.run({{1, 0.9}}, 0.1, 100ms);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, AnomalyKind::kSlowLink);
  EXPECT_EQ(found[0].peer, ring.ids[1]);
  EXPECT_EQ(found[0].link_to, ring.ids[2]);
  EXPECT_GT(found[0].value, 0.8);
  EXPECT_LE(found[0].value, 1.0);
  EXPECT_DOUBLE_EQ(found[0].threshold, 0.5);  // max(0.5, 3 x the others' 0.1)
  // Found once while it lasts; the link matrix marks it.
  EXPECT_TRUE(ring.run({{1, 0.9}}, 0.1, 1000ms).empty());
  for (const LinkRate& link : ring.monitor.links(ring.now)) {
    EXPECT_EQ(link.slow, link.from == ring.ids[1]) << link.from.shortHex();
    EXPECT_NEAR(link.bytes_per_s, 1e7, 1e6);
  }
  EXPECT_EQ(ring.monitor.found(AnomalyKind::kSlowNode), 0u);
  // Once it cleared (the window forgets the busy time), it may be found again.
  EXPECT_TRUE(ring.run({}, 0.1, 3000ms).empty());
  for (const LinkRate& link : ring.monitor.links(ring.now))
    EXPECT_FALSE(link.slow);
  found = ring.run({{1, 0.9}}, 0.1, 4000ms);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, AnomalyKind::kSlowLink);
}

TEST(ClusterMonitorSlowLink, BothLinksOfOnePeerMakeOneSlowNodeFinding) {
  Ring ring(4);
  ring.reportTraffic({}, 0.1, 100ms);
  ring.advance(100ms);
  // Peer 2's links in (1 -> 2) and out (2 -> 3) are both slow.
  const std::vector<Finding> found = ring.run({{1, 0.95}, {2, 0.85}}, 0.1, 3000ms);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, AnomalyKind::kSlowNode);
  EXPECT_EQ(found[0].peer, ring.ids[2]);
  EXPECT_TRUE(found[0].link_to.isZero());
  EXPECT_NEAR(found[0].value, 0.85, 0.01);  // the less busy of its links
  for (const PeerHealth& p : ring.monitor.peers(ring.now))
    EXPECT_EQ(p.slow_node, p.peer == ring.ids[2]);
  EXPECT_EQ(ring.monitor.found(AnomalyKind::kSlowLink), 0u);
}

TEST(ClusterMonitorSlowLink, ThreePeersFindTheSlowNodeAgainstTheirThirdLink) {
  Ring ring(3);
  ring.reportTraffic({}, 0.1, 100ms);
  ring.advance(100ms);
  const std::vector<Finding> found = ring.run({{0, 0.9}, {1, 0.9}}, 0.05, 3000ms);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, AnomalyKind::kSlowNode);
  EXPECT_EQ(found[0].peer, ring.ids[1]);
}

TEST(ClusterMonitorSlowLink, EvenlyBusyRingsShortBurstsAndIdleLinksRaiseNothing) {
  Ring ring(4);
  ring.reportTraffic({}, 0.8, 100ms);
  ring.advance(100ms);
  // A ring on a uniformly slow network: every link busy, none an outlier.
  EXPECT_TRUE(ring.run({}, 0.8, 3000ms).empty());
  // Mostly idle links, one busier but under the floor of 0.5.
  EXPECT_TRUE(ring.run({{1, 0.4}}, 0.02, 3000ms).empty());
  // A burst shorter than confirm_for.
  EXPECT_TRUE(ring.run({{1, 1.0}}, 0.02, 300ms).empty());
  EXPECT_TRUE(ring.run({}, 0.02, 3000ms).empty());
  // Links that carry nothing are not judged, however their counters move.
  for (int i = 0; i < 30; ++i) {
    for (size_t r = 0; r < 4; ++r) {
      PeerReport rep = ring.base(r);
      LinkReport link;
      link.peer = ring.ids[ring.next(r)];
      link.bytes_sent = 5;
      link.send_busy_ns = r == 1 ? 100'000'000ULL * static_cast<uint64_t>(i) : 0;
      rep.links.push_back(link);
      ring.monitor.onReport(ring.ids[r], "g", rep, ring.now);
    }
    EXPECT_TRUE(ring.advance(100ms).empty());
  }
  EXPECT_EQ(ring.monitor.found(AnomalyKind::kSlowLink) + ring.monitor.found(AnomalyKind::kSlowNode),
            0u);
}

TEST(ClusterMonitorFrozenLink, ALinkWhereNoByteMovesForLongIsFound) {
  Ring ring(3);
  ring.reportTraffic({}, 0.1, 100ms, 400);
  EXPECT_TRUE(ring.advance(100ms).empty());
  ring.reportTraffic({}, 0.1, 100ms, 900);
  // The latest report said 900 ms; 150 ms later it is past frozen_after.
  std::vector<Finding> found = ring.advance(150ms);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, AnomalyKind::kFrozenLink);
  EXPECT_EQ(found[0].peer, ring.ids[0]);
  EXPECT_EQ(found[0].link_to, ring.ids[1]);
  EXPECT_NEAR(found[0].value, 1050, 1);
  EXPECT_DOUBLE_EQ(found[0].threshold, 1000);
  ring.reportTraffic({}, 0.1, 100ms, 1200);
  EXPECT_TRUE(ring.advance(100ms).empty()) << "found once while it lasts";
  bool marked = false;
  for (const LinkRate& link : ring.monitor.links(ring.now)) {
    if (link.from == ring.ids[0]) marked = link.frozen && link.stalled_ms >= 1200;
  }
  EXPECT_TRUE(marked);
  // Bytes moved: cleared, and found again when it freezes again.
  ring.reportTraffic({}, 0.1, 100ms, 0);
  EXPECT_TRUE(ring.advance(100ms).empty());
  ring.reportTraffic({}, 0.1, 100ms, 2000);
  found = ring.advance(100ms);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(ring.monitor.found(AnomalyKind::kFrozenLink), 2u);
}

}  // namespace
}  // namespace eccl::anomaly
