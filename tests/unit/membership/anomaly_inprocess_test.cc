// The master's anomaly detectors against real communicators on loopback: a
// peer that stops calling collectives (its heartbeats go on) is found hung and
// evicted, so that the ring's op ends with kPeerLost long before its deadline
// and the survivors carry on; a peer that enters every op late is found a
// straggler and reported, not evicted; a ring that trains evenly raises
// nothing; a peer whose every chunk write is held (an injected delay) has its
// ring link found slow, attributed to its two ends, and reported only.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <thread>
#include <vector>

#include "src/comm/removal_memory.h"
#include "tests/unit/membership/inprocess_fixture.h"

namespace eccl::test {
namespace {

constexpr size_t kCount = 65536;  // 256 KiB of f32: the ring, not the small all-reduce
constexpr std::chrono::milliseconds kRejoinBackoff{2000};

class AnomalyDetection : public InProcessCluster {
 protected:
  void SetUp() override {
    master_options_.settings.detectors.hung_after = 1500ms;
    master_options_.settings.detectors.window = 2000ms;
    master_options_.settings.detectors.confirm_for = 1000ms;
    master_options_.settings.detectors.frozen_after = 1500ms;
    master_options_.settings.rejoin_backoff = kRejoinBackoff;
    InProcessCluster::SetUp();
  }

  // Every peer all-reduces once per call; `late` (if any) sleeps first.
  Status step(comm::Communicator& comm, uint64_t tag, std::chrono::milliseconds sleep_first) {
    if (sleep_first.count() > 0) std::this_thread::sleep_for(sleep_first);
    std::vector<float> data(kCount, static_cast<float>(comm.rank() + 1));
    Status status = comm.allReduce(data.data(), data.data(), kCount, reduce::DType::kF32,
                                   reduce::ReduceOp::kSum, tag, deadline(20s), nullptr);
    const int world = comm.worldSize();
    if (status.isOk() && data[0] != static_cast<float>(world * (world + 1) / 2)) {
      return internalError("wrong sum");
    }
    return status;
  }

  // The master's snapshot (refreshed periodically) once `ready` holds of it, or the last one.
  membership::MasterSnapshot snapshotWhen(
      const std::function<bool(const membership::MasterSnapshot&)>& ready) {
    const auto until = std::chrono::steady_clock::now() + deadline(5s);
    membership::MasterSnapshot snapshot = master_->snapshot();
    while (!ready(snapshot) && std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(20ms);
      snapshot = master_->snapshot();
    }
    return snapshot;
  }

  // Runs steps on every ring member for `how_long`; `late_rank` sleeps `late` before each.
  void train(const std::vector<comm::Communicator*>& ring, std::chrono::milliseconds how_long,
             int late_rank, std::chrono::milliseconds late) {
    const auto until = std::chrono::steady_clock::now() + how_long;
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    std::vector<Status> results(ring.size());
    for (size_t r = 0; r < ring.size(); ++r) {
      threads.emplace_back([&, r] {
        // The ring agrees on when to stop: rank 0 decides, by a broadcast flag.
        for (uint64_t tag = 1;; ++tag) {
          Status s = step(*ring[r], tag, static_cast<int>(r) == late_rank ? late : 0ms);
          if (!s.isOk()) {
            results[r] = s;
            return;
          }
          uint8_t more = std::chrono::steady_clock::now() < until ? 1 : 0;
          s = ring[r]->broadcast(&more, 1, reduce::DType::kU8, 0, 1'000'000 + tag, deadline(20s),
                                 nullptr);
          if (!s.isOk()) {
            results[r] = s;
            return;
          }
          if (!more) return;
        }
      });
    }
    for (auto& t : threads)
      t.join();
    for (size_t r = 0; r < ring.size(); ++r)
      EXPECT_TRUE(results[r].isOk()) << "rank " << r << ": " << results[r].toString();
  }
};

TEST_F(AnomalyDetection, AHungPeerIsEvictedAndTheRingsOpEndsWithPeerLost) {
  auto ring = rankedRing({&addPeer(), &addPeer(), &addPeer()});
  train(ring, 500ms, -1, 0ms);
  const EndpointId hung = ring[2]->peerId();
  // Ranks 0 and 1 enter an all-reduce that rank 2 never calls; rank 2's
  // heartbeats go on (its comm is alive), so only the detectors can tell.
  std::vector<Status> results(2);
  std::vector<double> took_ms(2);
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      results[r] = step(*ring[r], 99, 0ms);
      took_ms[r] =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count();
    });
  }
  for (auto& t : threads)
    t.join();
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(results[r].code(), Code::kPeerLost) << results[r].toString();
    std::printf("[ hung peer ] rank %d's op ended %.0f ms after it began (hung_after 1500 ms)\n", r,
                took_ms[r]);
    // Detection: hung_after, plus a report interval and the eviction's news;
    // far below the op's 20 s deadline.
    EXPECT_LT(took_ms[r], static_cast<double>(deadline(6s).count()));
  }
  const membership::MasterSnapshot snapshot = snapshotWhen(
      [](const membership::MasterSnapshot& s) { return s.counters.anomaly_evictions > 0; });
  EXPECT_EQ(snapshot.counters.hung_peers, 1u);
  EXPECT_EQ(snapshot.counters.stragglers, 0u);
  EXPECT_EQ(snapshot.counters.anomaly_evictions, 1u);
  ASSERT_FALSE(snapshot.findings.empty());
  EXPECT_EQ(snapshot.findings.back().kind, anomaly::AnomalyKind::kHungPeer);
  EXPECT_EQ(snapshot.findings.back().peer, hung);
  // The survivors heard it was hung, then saw it evicted; they carry on at world 2.
  for (int r = 0; r < 2; ++r) {
    std::vector<comm::EventKind> kinds;
    while (auto event = ring[r]->pollEvent()) {
      if (event->peer != hung) continue;
      // (It joined at the start; once evicted it registers again, finds
      // itself removed and leaves.)
      if (event->kind == comm::EventKind::kHungPeer || event->kind == comm::EventKind::kEvicted) {
        kinds.push_back(event->kind);
      }
      if (event->kind == comm::EventKind::kHungPeer) {
        EXPECT_GE(event->value, 1500.0);
        EXPECT_EQ(event->threshold, 1500.0);
      }
    }
    EXPECT_EQ(kinds, (std::vector{comm::EventKind::kHungPeer, comm::EventKind::kEvicted}))
        << "rank " << r;
  }
  std::vector<std::thread> updates;
  for (int r = 0; r < 2; ++r)
    updates.emplace_back([&, r] {
      Status s = ring[r]->updateTopology(deadline(10s));
      EXPECT_TRUE(s.isOk()) << s.toString();
    });
  for (auto& t : updates)
    t.join();
  std::vector<float> a(kCount, 1.0f), b(kCount, 2.0f);
  std::thread other([&] {
    EXPECT_TRUE(ring[1]
                    ->allReduce(b.data(), b.data(), kCount, reduce::DType::kF32,
                                reduce::ReduceOp::kSum, 100, deadline(20s), nullptr)
                    .isOk());
  });
  EXPECT_TRUE(ring[0]
                  ->allReduce(a.data(), a.data(), kCount, reduce::DType::kF32,
                              reduce::ReduceOp::kSum, 100, deadline(20s), nullptr)
                  .isOk());
  other.join();
  EXPECT_EQ(a[kCount - 1], 3.0f);
  EXPECT_EQ(b[0], 3.0f);
}

// The hung peer's process makes a new communicator: the master refuses it
// until the eviction's back-off has passed (connect fails at once, saying
// when, and the refused comm stays out), then admits the next one.
TEST_F(AnomalyDetection, AnEvictedPeersProcessIsAdmittedAgainOnlyAfterItsBackoff) {
  auto ring = rankedRing({&addPeer(), &addPeer(), &addPeer()});
  const EndpointId hung = ring[2]->peerId();
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] { EXPECT_EQ(step(*ring[r], 1, 0ms).code(), Code::kPeerLost); });
  for (auto& t : threads)
    t.join();
  // The evicted comm hears of it when it registers again (its connection
  // was dropped), and this process remembers it for the master and group.
  const std::string master = "127.0.0.1:" + std::to_string(master_->port());
  const auto until = std::chrono::steady_clock::now() + deadline(5s);
  while (!(comm::pastRemoval(master, "g") && comm::pastRemoval(master, "g")->id == hung) &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(comm::pastRemoval(master, "g").has_value());
  const auto evicted_by = std::chrono::steady_clock::now();

  comm::Communicator& early = addPeer();
  Status refused = early.connect(deadline(5s));
  ASSERT_LT(std::chrono::steady_clock::now() - evicted_by, kRejoinBackoff) << "too slow to test";
  EXPECT_EQ(refused.code(), Code::kInvalidUsage) << refused.toString();
  EXPECT_NE(refused.message().find("may register again in"), std::string::npos)
      << refused.toString();
  EXPECT_EQ(snapshotWhen([](const membership::MasterSnapshot& s) {
              return s.counters.rejoins_refused > 0;
            }).counters.rejoins_refused,
            1u);

  std::this_thread::sleep_until(evicted_by + kRejoinBackoff + 100ms);
  std::vector<std::thread> updates;
  for (int r = 0; r < 2; ++r)
    updates.emplace_back([&, r] { EXPECT_TRUE(ring[r]->updateTopology(deadline(10s)).isOk()); });
  for (auto& t : updates)
    t.join();
  comm::Communicator& later = addPeer();
  admit({ring[0], ring[1]}, {&later});
  EXPECT_EQ(later.worldSize(), 3);
  EXPECT_EQ(ring[0]->worldSize(), 3) << "the refused comm registered again in the background";
  EXPECT_FALSE(comm::pastRemoval(master, "g").has_value()) << "taken by the admitted comm";
  EXPECT_EQ(master_->snapshot().counters.rejoins_refused, 1u);
}

TEST_F(AnomalyDetection, AStragglerIsReportedNotEvictedAndAnEvenRingRaisesNothing) {
  auto ring = rankedRing({&addPeer(), &addPeer(), &addPeer()});
  // Even training first: no finding.
  train(ring, 3000ms, -1, 0ms);
  membership::MasterSnapshot snapshot =
      snapshotWhen([](const membership::MasterSnapshot& s) { return s.counters.peer_reports > 0; });
  EXPECT_EQ(snapshot.counters.hung_peers + snapshot.counters.stragglers +
                snapshot.counters.slow_links + snapshot.counters.slow_nodes +
                snapshot.counters.frozen_links,
            0u);
  EXPECT_TRUE(snapshot.findings.empty());
  EXPECT_GT(snapshot.counters.peer_reports, 0u);
  // Rank 1 enters every op 40 ms late.
  const EndpointId slow = ring[1]->peerId();
  const auto start = std::chrono::steady_clock::now();
  train(ring, 4000ms, 1, 40ms);
  snapshot =
      snapshotWhen([](const membership::MasterSnapshot& s) { return s.counters.stragglers > 0; });
  EXPECT_EQ(snapshot.counters.stragglers, 1u);
  EXPECT_EQ(snapshot.counters.hung_peers, 0u);
  EXPECT_EQ(snapshot.counters.anomaly_evictions, 0u);
  ASSERT_EQ(snapshot.findings.size(), 1u);
  EXPECT_EQ(snapshot.findings[0].kind, anomaly::AnomalyKind::kStraggler);
  EXPECT_EQ(snapshot.findings[0].peer, slow);
  std::printf("[ straggler ] found %.0f ms after it began straggling: %s\n",
              std::chrono::duration<double, std::milli>(snapshot.findings[0].at - start).count(),
              snapshot.findings[0].evidence.c_str());
  // Still a member: reported only.
  EXPECT_EQ(ring[1]->rank(), 1);
  // Every peer of the ring heard of it, the straggler too.
  for (comm::Communicator* peer : ring) {
    int heard = 0;
    while (auto event = peer->pollEvent()) {
      if (event->kind != comm::EventKind::kStraggler) continue;
      ++heard;
      EXPECT_EQ(event->peer, slow);
      EXPECT_GE(event->value, event->threshold);
      EXPECT_GT(event->threshold, 0.0);
    }
    EXPECT_EQ(heard, 1) << "rank " << peer->rank();
  }
  bool straggler_flagged = false;
  for (const anomaly::PeerHealth& peer : snapshot.health)
    straggler_flagged = straggler_flagged || (peer.peer == slow && peer.straggler);
  EXPECT_TRUE(straggler_flagged);
}

TEST_F(AnomalyDetection, ALinkWhoseWritesAreHeldIsFoundSlowAndReportedOnly) {
  // One peer's data channels hold every chunk write for 20 ms: its link to
  // its next neighbour sets the ring's pace, the others idle behind it.
  auto delayed = std::make_shared<const transport::FaultSpec>(
      transport::FaultSpec{.delay_p = 1.0, .delay = 20ms});
  comm::Communicator& slow_sender = addPeer("g", comm::FaultHook(), delayed);
  auto ring = rankedRing({&addPeer(), &addPeer(), &slow_sender, &addPeer()});
  const int slow_rank = slow_sender.rank();
  const EndpointId from = slow_sender.peerId();
  const EndpointId to = ring[static_cast<size_t>((slow_rank + 1) % 4)]->peerId();
  const auto start = std::chrono::steady_clock::now();
  train(ring, 4000ms, -1, 0ms);
  const membership::MasterSnapshot snapshot =
      snapshotWhen([](const membership::MasterSnapshot& s) { return s.counters.slow_links > 0; });
  EXPECT_EQ(snapshot.counters.slow_links, 1u);
  EXPECT_EQ(snapshot.counters.slow_nodes, 0u);
  EXPECT_EQ(snapshot.counters.hung_peers, 0u);
  EXPECT_EQ(snapshot.counters.frozen_links, 0u);
  EXPECT_EQ(snapshot.counters.anomaly_evictions, 0u);
  const anomaly::Finding* found = nullptr;
  for (const anomaly::Finding& f : snapshot.findings) {
    if (f.kind == anomaly::AnomalyKind::kSlowLink) found = &f;
  }
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->peer, from);
  EXPECT_EQ(found->link_to, to);
  EXPECT_GE(found->value, found->threshold);
  std::printf("[ slow link ] found %.0f ms after training began: %s\n",
              std::chrono::duration<double, std::milli>(found->at - start).count(),
              found->evidence.c_str());
  // The link matrix marks it, and only it.
  for (const anomaly::LinkRate& link : snapshot.links) {
    EXPECT_EQ(link.slow, link.from == from && link.to == to)
        << link.from.shortHex() << " -> " << link.to.shortHex() << " busy " << link.busy_share;
  }
  // Every member heard of it, with the link's two ends; nobody was evicted.
  for (comm::Communicator* peer : ring) {
    int heard = 0;
    while (auto event = peer->pollEvent()) {
      if (event->kind != comm::EventKind::kSlowLink) continue;
      ++heard;
      EXPECT_EQ(event->peer, from);
      EXPECT_EQ(event->link_to, to);
      EXPECT_GE(event->value, event->threshold);
    }
    EXPECT_EQ(heard, 1) << "rank " << peer->rank();
    EXPECT_EQ(peer->worldSize(), 4);
  }
}

}  // namespace
}  // namespace eccl::test
