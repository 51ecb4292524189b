// A master and several communicators in one process, over real loopback
// sockets: joins, votes, ring order, events, leaving and losses.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "tests/unit/membership/inprocess_fixture.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;

TEST_F(InProcessCluster, PeersJoinInWavesAndAgreeOnTheRing) {
  auto& a = addPeer();
  ASSERT_TRUE(a.connect(deadline(10s)).isOk());
  EXPECT_EQ(a.rank(), 0);
  EXPECT_EQ(a.worldSize(), 1);
  EXPECT_EQ(a.revision(), 1u);

  auto& b = addPeer();
  auto& c = addPeer();
  admit({&a}, {&b, &c});
  auto& d = addPeer();
  auto& e = addPeer();
  auto& f = addPeer();
  admit({&a, &b, &c}, {&d, &e, &f});

  std::set<int> ranks;
  for (auto* p : {&a, &b, &c, &d, &e, &f}) {
    ranks.insert(p->rank());
    EXPECT_EQ(p->revision(), a.revision());
    EXPECT_EQ(p->members().size(), 6u);
    EXPECT_EQ(p->members()[static_cast<size_t>(p->rank())].peer, p->peerId());
  }
  EXPECT_EQ(ranks, (std::set<int>{0, 1, 2, 3, 4, 5}));
  // Joins were announced to the accepted peers.
  int joined = 0;
  while (auto event = a.pollEvent())
    joined += event->kind == comm::EventKind::kJoined;
  EXPECT_EQ(joined, 5);
}

TEST_F(InProcessCluster, LeavingAndLostPeersAreAnnounced) {
  auto& a = addPeer();
  ASSERT_TRUE(a.connect(deadline(10s)).isOk());
  auto& b = addPeer();
  auto& c = addPeer();
  admit({&a}, {&b, &c});
  while (a.pollEvent()) {
  }
  const EndpointId c_id = c.peerId();
  peers_.pop_back();  // c leaves gracefully
  std::optional<comm::Event> event;
  const auto until = std::chrono::steady_clock::now() + deadline(5s);
  while (!(event = a.pollEvent()) && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->kind, comm::EventKind::kLeft);
  EXPECT_EQ(event->peer, c_id);
  // The survivors settle the loss at their next update: a ring of two.
  auto update_a = std::async(std::launch::async, [&] { return a.updateTopology(deadline(10s)); });
  auto update_b = std::async(std::launch::async, [&] { return b.updateTopology(deadline(10s)); });
  EXPECT_TRUE(update_a.get().isOk());
  EXPECT_TRUE(update_b.get().isOk());
  EXPECT_EQ(a.worldSize(), 2);
  EXPECT_EQ(b.worldSize(), 2);
}

TEST_F(InProcessCluster, ARestartedMasterRebuildsTheRingFromItsMembers) {
  auto& a = addPeer();
  ASSERT_TRUE(a.connect(deadline(10s)).isOk());
  auto& b = addPeer();
  auto& c = addPeer();
  auto& d = addPeer();
  admit({&a}, {&b, &c, &d});
  const uint64_t revision = a.revision();
  std::vector<EndpointId> ring;
  for (const auto& member : a.members())
    ring.push_back(member.peer);
  while (a.pollEvent()) {
  }

  restartMaster();
  // An update voted while the master is away completes once it is back.
  std::vector<std::future<Status>> updates;
  for (auto* peer : {&a, &b, &c, &d}) {
    updates.push_back(
        std::async(std::launch::async, [peer] { return peer->updateTopology(deadline(15s)); }));
  }
  for (auto& update : updates) {
    Status s = update.get();
    EXPECT_TRUE(s.isOk()) << s.toString();
  }
  for (auto* peer : {&a, &b, &c, &d}) {
    EXPECT_EQ(peer->worldSize(), 4);
    EXPECT_GT(peer->revision(), revision);
    std::vector<EndpointId> now;
    for (const auto& member : peer->members())
      now.push_back(member.peer);
    EXPECT_EQ(now, ring) << "the rebuilt ring keeps its order";
  }
  EXPECT_FALSE(a.pollEvent().has_value()) << "nobody was lost or left";

  auto& e = addPeer();
  admit({&a, &b, &c, &d}, {&e});
  EXPECT_EQ(e.worldSize(), 5);
  const auto snapshot = master_->snapshot();
  EXPECT_EQ(snapshot.incarnation, 2u);
}

TEST_F(InProcessCluster, UpdatingBeforeBeingAcceptedIsInvalidUsage) {
  auto& a = addPeer();
  ASSERT_TRUE(a.connect(deadline(10s)).isOk());
  ASSERT_TRUE(a.updateTopology(deadline(10s)).isOk());
  EXPECT_EQ(a.revision(), 2u);
  auto& b = addPeer();
  Status early = b.updateTopology(1s);
  EXPECT_EQ(early.code(), Code::kInvalidUsage) << early.toString();
}

TEST_F(InProcessCluster, AbortEndsABlockedCall) {
  auto& a = addPeer();
  ASSERT_TRUE(a.connect(deadline(10s)).isOk());
  auto& b = addPeer();
  ASSERT_TRUE(std::async(std::launch::async, [&] { return b.connect(100ms); }).get().code() ==
              Code::kTimeout)
      << "b stays pending while a does not update";
  auto& c = addPeer();
  auto waiting = std::async(std::launch::async, [&] { return c.connect(deadline(30s)); });
  std::this_thread::sleep_for(100ms);
  const auto start = std::chrono::steady_clock::now();
  c.abort("test");
  Status s = waiting.get();
  EXPECT_EQ(s.code(), Code::kAborted) << s.toString();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
}

}  // namespace
}  // namespace eccl::test
