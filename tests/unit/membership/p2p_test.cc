// Point-to-point messages between accepted peers, within a group and across
// groups: lookups, exact bytes, ordering per tag, size mismatches, and every
// way a transfer can end early (timeout, abort, the partner departing).
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "tests/unit/membership/inprocess_fixture.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class PointToPoint : public InProcessCluster {
 protected:
  // A peer alone in its group: admitted at once.
  comm::Communicator& acceptedPeer(const std::string& group) {
    auto& peer = addPeer(group);
    EXPECT_TRUE(peer.connect(deadline(10s)).isOk());
    return peer;
  }

  std::future<Status> asyncSend(comm::Communicator& from, const EndpointId& to,
                                const std::vector<uint8_t>& bytes, uint64_t tag,
                                std::chrono::milliseconds timeout = deadline(10s)) {
    return std::async(std::launch::async, [&from, to, &bytes, tag, timeout] {
      return from.send(to, bytes.data(), bytes.size(), tag, timeout, nullptr);
    });
  }
};

TEST_F(PointToPoint, PeersOfDifferentGroupsFindEachOtherByRankAndExchangeBytes) {
  auto& a = acceptedPeer("stage-0");
  auto& b = acceptedPeer("stage-1");
  auto where_b = a.lookupRank("stage-1", 0, deadline(5s));
  ASSERT_TRUE(where_b) << where_b.status().toString();
  EXPECT_EQ(where_b->id, b.peerId());
  EXPECT_EQ(where_b->group, "stage-1");
  EXPECT_EQ(where_b->rank, 0u);
  auto where_a = b.lookupPeer(a.peerId(), deadline(5s));
  ASSERT_TRUE(where_a) << where_a.status().toString();
  EXPECT_EQ(where_a->group, "stage-0");

  // Both directions, several messages per tag (kept in order), large and empty ones.
  const auto big = pattern(3 << 20, 1);
  const auto small = pattern(1000, 2);
  const std::vector<uint8_t> empty;
  auto sent = std::async(std::launch::async, [&] {
    for (const auto* message : {&big, &small, &empty}) {
      ECCL_RETURN_IF_ERROR(
          a.send(b.peerId(), message->data(), message->size(), 7, deadline(10s), nullptr));
    }
    return Status::ok();
  });
  for (const auto* expected : {&big, &small, &empty}) {
    std::vector<uint8_t> got(expected->size());
    coll::OpInfo info;
    Status s = b.recv(a.peerId(), got.data(), got.size(), 7, deadline(10s), &info);
    ASSERT_TRUE(s.isOk()) << s.toString();
    EXPECT_EQ(firstDifference(got, *expected), std::nullopt);
    EXPECT_EQ(info.bytes_received, expected->size());
    EXPECT_EQ(info.world_size, 2u);
  }
  ASSERT_TRUE(sent.get().isOk());

  auto reply = asyncSend(b, a.peerId(), small, 8);
  std::vector<uint8_t> got(small.size());
  ASSERT_TRUE(a.recv(b.peerId(), got.data(), got.size(), 8, deadline(10s), nullptr).isOk());
  EXPECT_EQ(got, small);
  ASSERT_TRUE(reply.get().isOk());
}

TEST_F(PointToPoint, TagsAreIndependentStreams) {
  auto& a = acceptedPeer("g");
  auto& b = addPeer("g");
  admit({&a}, {&b});
  const auto first = pattern(5000, 3);
  const auto second = pattern(7000, 4);
  // Sent on tag 1 then tag 2 from two threads, received in the opposite order.
  auto on_1 = asyncSend(a, b.peerId(), first, 1);
  auto on_2 = asyncSend(a, b.peerId(), second, 2);
  std::vector<uint8_t> got_2(second.size()), got_1(first.size());
  ASSERT_TRUE(b.recv(a.peerId(), got_2.data(), got_2.size(), 2, deadline(10s), nullptr).isOk());
  ASSERT_TRUE(b.recv(a.peerId(), got_1.data(), got_1.size(), 1, deadline(10s), nullptr).isOk());
  EXPECT_EQ(got_1, first);
  EXPECT_EQ(got_2, second);
  EXPECT_TRUE(on_1.get().isOk());
  EXPECT_TRUE(on_2.get().isOk());
}

TEST_F(PointToPoint, SizesThatDifferFailOnBothSidesAndTheTagGoesOn) {
  auto& a = acceptedPeer("x");
  auto& b = acceptedPeer("y");
  const auto bytes = pattern(4096, 5);
  auto sent = asyncSend(a, b.peerId(), bytes, 3);
  std::vector<uint8_t> wrong(4000);
  Status r = b.recv(a.peerId(), wrong.data(), wrong.size(), 3, deadline(10s), nullptr);
  EXPECT_EQ(r.code(), Code::kInvalidUsage) << r.toString();
  Status s = sent.get();
  EXPECT_EQ(s.code(), Code::kInvalidUsage) << s.toString();
  // Whichever end notices first words it; both sizes are named.
  EXPECT_NE(s.message().find("4096"), std::string::npos) << s.toString();
  EXPECT_NE(s.message().find("4000"), std::string::npos) << s.toString();
  // The channel lives on and both sides moved to the next message of the tag.
  auto again = asyncSend(a, b.peerId(), bytes, 3);
  std::vector<uint8_t> got(bytes.size());
  ASSERT_TRUE(b.recv(a.peerId(), got.data(), got.size(), 3, deadline(10s), nullptr).isOk());
  EXPECT_EQ(got, bytes);
  EXPECT_TRUE(again.get().isOk());
}

TEST_F(PointToPoint, BadArgumentsAndUnknownPeersAreRefused) {
  auto& a = acceptedPeer("x");
  auto& b = acceptedPeer("y");
  uint8_t byte = 0;
  EXPECT_EQ(a.send(a.peerId(), &byte, 1, 0, 1s, nullptr).code(), Code::kInvalidArgument);
  EXPECT_EQ(a.send(EndpointId{}, &byte, 1, 0, 1s, nullptr).code(), Code::kInvalidArgument);
  EXPECT_EQ(a.send(b.peerId(), &byte, 1, uint64_t{1} << 32, 1s, nullptr).code(),
            Code::kInvalidArgument);
  EXPECT_EQ(a.recv(b.peerId(), nullptr, 1, 0, 1s, nullptr).code(), Code::kInvalidArgument);
  const auto start = Clock::now();
  Status unknown = a.send(EndpointId::random(), &byte, 1, 0, deadline(10s), nullptr);
  EXPECT_EQ(unknown.code(), Code::kInvalidArgument) << unknown.toString();
  EXPECT_NE(unknown.message().find("knows no accepted peer"), std::string::npos)
      << unknown.toString();
  EXPECT_LT(Clock::now() - start, deadline(5s)) << "the master answers at once";
  auto no_rank = a.lookupRank("y", 1, deadline(5s));
  EXPECT_EQ(no_rank.status().code(), Code::kInvalidArgument);
  auto own_rank = a.lookupRank("x", 3, deadline(5s));
  EXPECT_EQ(own_rank.status().code(), Code::kInvalidArgument);

  auto& pending = addPeer("y");  // waits for b's vote
  EXPECT_EQ(pending.connect(200ms).code(), Code::kTimeout);
  auto not_yet = a.lookupPeer(pending.peerId(), deadline(5s));
  EXPECT_EQ(not_yet.status().code(), Code::kInvalidArgument);
  EXPECT_NE(not_yet.status().message().find("not accepted"), std::string::npos);
  EXPECT_EQ(pending.send(a.peerId(), &byte, 1, 0, 1s, nullptr).code(), Code::kInvalidUsage);
}

TEST_F(PointToPoint, ATimeoutEndsTheCallAndTheNextMessageStillArrives) {
  auto& a = acceptedPeer("x");
  auto& b = acceptedPeer("y");
  const auto bytes = pattern(1 << 20, 6);
  std::vector<uint8_t> got(bytes.size());
  // b's first receive has no sender: it times out (and closes the channel).
  auto b_first = std::async(std::launch::async, [&] {
    return b.recv(a.peerId(), got.data(), got.size(), 9, 500ms, nullptr);
  });
  // Meanwhile a opens the channel, whichever end dials (a receive on another tag).
  auto opener = std::async(std::launch::async, [&] {
    uint8_t byte;
    return a.recv(b.peerId(), &byte, 1, 99, deadline(3s), nullptr);  // outlasts b's
  });
  Status timed_out = b_first.get();
  EXPECT_EQ(timed_out.code(), Code::kTimeout) << timed_out.toString();
  EXPECT_FALSE(opener.get().isOk()) << "nobody sends on tag 99";
  // The close reaches the other end within a round trip; a call started on
  // the closing channel before that would fail too (the caller retries).
  std::this_thread::sleep_for(deadline(300ms));
  auto sent = asyncSend(a, b.peerId(), bytes, 9);
  Status s = b.recv(a.peerId(), got.data(), got.size(), 9, deadline(10s), nullptr);
  ASSERT_TRUE(s.isOk()) << s.toString();
  EXPECT_EQ(got, bytes);
  EXPECT_TRUE(sent.get().isOk());
}

TEST_F(PointToPoint, AbortEndsAWaitingReceiveAtOnce) {
  auto& a = acceptedPeer("x");
  auto& b = acceptedPeer("y");
  std::vector<uint8_t> got(100);
  auto waiting = std::async(std::launch::async, [&] {
    return b.recv(a.peerId(), got.data(), got.size(), 1, deadline(30s), nullptr);
  });
  std::this_thread::sleep_for(200ms);
  const auto start = Clock::now();
  b.abort("test");
  Status s = waiting.get();
  EXPECT_EQ(s.code(), Code::kAborted) << s.toString();
  EXPECT_LT(Clock::now() - start, deadline(3s));
}

TEST_F(PointToPoint, APartnerOfAnotherGroupDepartingEndsTheWait) {
  // The larger id waits for the smaller to open the channel; the smaller one
  // leaves instead. Only the master's watch can tell the waiter.
  auto* a = &acceptedPeer("x");
  auto* b = &acceptedPeer("y");
  if (b->peerId() < a->peerId()) std::swap(a, b);
  std::vector<uint8_t> got(100);
  const EndpointId a_id = a->peerId();  // outlives a
  auto waiting = std::async(std::launch::async, [&] {
    return b->recv(a_id, got.data(), got.size(), 1, deadline(30s), nullptr);
  });
  std::this_thread::sleep_for(300ms);  // b has looked a up: it is watched for b
  const auto start = Clock::now();
  for (auto& peer : peers_) {
    if (peer.get() == a) peer.reset();  // a graceful leave
  }
  Status s = waiting.get();
  EXPECT_EQ(s.code(), Code::kPeerLost) << s.toString();
  EXPECT_NE(s.message().find("left"), std::string::npos) << s.toString();
  EXPECT_LT(Clock::now() - start, deadline(3s));
  // b learned of it as an event with revision 0 (a peer of another group).
  bool seen = false;
  while (auto event = b->pollEvent()) {
    if (event->kind == comm::EventKind::kLeft && event->revision == 0) seen = true;
  }
  EXPECT_TRUE(seen);
  // The master has forgotten a: b's next send to it is to a lost peer, not
  // to an unknown one.
  Status again = b->send(a_id, got.data(), got.size(), 2, deadline(5s), nullptr);
  EXPECT_EQ(again.code(), Code::kPeerLost) << again.toString();
  EXPECT_NE(again.message().find("left"), std::string::npos) << again.toString();
}

TEST_F(PointToPoint, ARingMemberThatDepartedIsLostAfterTheUpdate) {
  auto& a = addPeer("z");
  auto& b = addPeer("z");
  auto& c = addPeer("z");
  rankedRing({&a, &b, &c});
  ASSERT_EQ(c.worldSize(), 3);
  std::vector<uint8_t> bytes(10, 7);
  const EndpointId c_id = c.peerId();
  for (auto& peer : peers_) {
    if (peer.get() == &c) peer.reset();  // a graceful leave
  }
  // a and b agree on the ring without c: c is no ring member any more.
  auto update_b = std::async(std::launch::async, [&] { return b.updateTopology(deadline(10s)); });
  ASSERT_TRUE(a.updateTopology(deadline(10s)).isOk());
  ASSERT_TRUE(update_b.get().isOk());
  ASSERT_EQ(a.worldSize(), 2);
  for (auto* peer : {&a, &b}) {
    Status s = peer->send(c_id, bytes.data(), bytes.size(), 1, deadline(5s), nullptr);
    EXPECT_EQ(s.code(), Code::kPeerLost) << s.toString();
    EXPECT_NE(s.message().find("left"), std::string::npos) << s.toString();
    Status r = peer->recv(c_id, bytes.data(), bytes.size(), 1, deadline(5s), nullptr);
    EXPECT_EQ(r.code(), Code::kPeerLost) << r.toString();
  }
}

TEST_F(PointToPoint, CachedAddressesWorkWhileTheMasterIsDown) {
  auto& a = acceptedPeer("x");
  auto& b = acceptedPeer("y");
  const auto bytes = pattern(10000, 7);
  std::vector<uint8_t> got(bytes.size());
  auto first = asyncSend(a, b.peerId(), bytes, 1);
  ASSERT_TRUE(b.recv(a.peerId(), got.data(), got.size(), 1, deadline(10s), nullptr).isOk());
  ASSERT_TRUE(first.get().isOk());
  stopMaster();
  auto second = asyncSend(a, b.peerId(), bytes, 1);
  ASSERT_TRUE(b.recv(a.peerId(), got.data(), got.size(), 1, deadline(10s), nullptr).isOk());
  EXPECT_EQ(got, bytes);
  EXPECT_TRUE(second.get().isOk());
}

}  // namespace
}  // namespace eccl::test
