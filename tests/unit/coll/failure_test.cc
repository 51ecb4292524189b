// Failing all-reduces: disagreeing peers, abort, a peer that never calls, a
// peer that goes away mid-op, argument errors. None may hang; each survivor
// gets the error this version promises, within a bound.
#include <gtest/gtest.h>

#include <cstdint>
#include <future>
#include <numeric>
#include <thread>
#include <vector>

#include "tests/support/test_env.h"
#include "tests/unit/coll/peer_threads.h"
#include "tests/unit/coll/ring_cluster.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using reduce::DType;
using reduce::ReduceOp;

// Both algorithms: the ring (false) and recursive doubling (true).
class CountMismatch : public ::testing::TestWithParam<bool> {};

TEST_P(CountMismatch, FailsOnBothPeersNamingTheField) {
  coll::CollOptions options;
  options.small_allreduce_bytes = GetParam() ? SIZE_MAX : 0;
  RingCluster cluster(options);
  cluster.grow(2);
  const std::string id0 = cluster.peer(0).peerId().shortHex();
  const std::string id1 = cluster.peer(1).peerId().shortHex();
  const auto started = Clock::now();
  auto statuses = cluster.runEach([&](int r) {
    std::vector<float> buf(1024, 1.0f);
    return cluster.peer(r).allReduce(buf.data(), buf.data(), r == 0 ? 1024 : 1000, DType::kF32,
                                     ReduceOp::kSum, 5, deadline(20s), nullptr);
  });
  EXPECT_LT(Clock::now() - started, deadline(5s));
  EXPECT_EQ(statuses[0].code(), Code::kInvalidUsage) << statuses[0].toString();
  EXPECT_EQ(statuses[1].code(), Code::kInvalidUsage) << statuses[1].toString();
  EXPECT_TRUE(contains(statuses[0], "peer " + id1 + " (rank 1) has count 1000, this peer 1024"))
      << statuses[0].toString();
  EXPECT_TRUE(contains(statuses[1], "peer " + id0 + " (rank 0) has count 1024, this peer 1000"))
      << statuses[1].toString();

  // The ring must be re-validated before the next op; then it works again.
  std::vector<int32_t> x(4, 1);
  Status again = cluster.peer(0).allReduce(x.data(), x.data(), 4, DType::kI32, ReduceOp::kSum, 6,
                                           deadline(1s), nullptr);
  EXPECT_EQ(again.code(), Code::kInvalidUsage) << again.toString();
  cluster.update();
  expectSumWorks(cluster, 777, 7);
}

INSTANTIATE_TEST_SUITE_P(AllReduceFailure, CountMismatch, ::testing::Bool(),
                         [](const auto& param_info) {
                           return param_info.param ? "RecursiveDoubling" : "Ring";
                         });

// Every peer's op failed as a disagreement (not a lost peer), its text naming `field`.
void expectEveryPeerDisagrees(const std::vector<Status>& statuses, const std::string& field) {
  for (size_t r = 0; r < statuses.size(); ++r) {
    EXPECT_EQ(statuses[r].code(), Code::kInvalidUsage) << r << ": " << statuses[r].toString();
    EXPECT_TRUE(contains(statuses[r], field)) << r << ": " << statuses[r].toString();
  }
}

TEST(AllReduceFailure, DtypeMismatchInAFourPeerRingFailsEveryPeer) {
  RingCluster cluster(ringOnly());
  cluster.grow(4);
  const auto started = Clock::now();
  auto statuses = cluster.runEach([&](int r) {
    std::vector<int32_t> buf(4096, 1);
    return cluster.peer(r).allReduce(buf.data(), buf.data(), buf.size(),
                                     r == 3 ? DType::kF32 : DType::kI32, ReduceOp::kSum, 1,
                                     deadline(20s), nullptr);
  });
  EXPECT_LT(Clock::now() - started, deadline(5s));
  // Rank 3 and its two neighbours see the mismatch; rank 1, two hops away,
  // learns it from the neighbours' Goodbyes: a disagreement, not a lost peer.
  expectEveryPeerDisagrees(statuses, "has dtype");
  cluster.update();
  expectSumWorks(cluster, 100, 2);
}

TEST(AllReduceFailure, CountMismatchInASixPeerRingFailsEveryPeerAsADisagreement) {
  RingCluster cluster(ringOnly());
  cluster.grow(6);
  const auto started = Clock::now();
  auto statuses = cluster.runEach([&](int r) {
    std::vector<float> buf(50'000, 1.0f);
    return cluster.peer(r).allReduce(buf.data(), buf.data(), r == 2 ? 49'999 : 50'000, DType::kF32,
                                     ReduceOp::kSum, 1, deadline(20s), nullptr);
  });
  EXPECT_LT(Clock::now() - started, deadline(5s));
  // Ranks 4, 5 and 0 are two and three hops from rank 2: no peer was lost,
  // and none of them may retry as if one had. Each names the count.
  expectEveryPeerDisagrees(statuses, "has count");
  cluster.update();
  expectSumWorks(cluster, 100, 2);
}

TEST(AllReduceFailure, AbortEndsABlockedOpAtOnce) {
  RingCluster cluster(ringOnly());
  cluster.grow(2);
  comm::Communicator& a = cluster.peer(0);
  auto op = std::async(std::launch::async, [&] {
    std::vector<float> buf(1 << 16, 1.0f);
    Status s = a.allReduce(buf.data(), buf.data(), buf.size(), DType::kF32, ReduceOp::kSum, 3,
                           deadline(60s), nullptr);
    return std::make_pair(s, Clock::now());
  });
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(op.wait_for(0s), std::future_status::timeout) << "the op did not block";
  const auto aborted = Clock::now();
  a.abort("test");
  auto [status, returned] = op.get();
  EXPECT_EQ(status.code(), Code::kAborted) << status.toString();
  EXPECT_LT(returned - aborted, deadline(1s));
}

TEST(AllReduceFailure, AConcurrentOpWaitsForItsHeaderTurnAndAbortEndsTheRest) {
  RingCluster cluster(ringOnly());
  cluster.grow(2);
  comm::Communicator& a = cluster.peer(0);  // peer 1 never calls: the first op blocks
  std::vector<float> buf(16, 1.0f), other(16, 1.0f), same_tag(16, 1.0f);
  auto first = std::async(std::launch::async, [&] {
    return a.allReduce(buf.data(), buf.data(), buf.size(), DType::kF32, ReduceOp::kSum, 3,
                       deadline(60s), nullptr);
  });
  std::this_thread::sleep_for(200ms);
  // Another tag runs at once, but its header waits for the first's: it times out.
  const auto start = Clock::now();
  Status second = a.allReduce(other.data(), other.data(), other.size(), DType::kF32, ReduceOp::kSum,
                              4, 300ms, nullptr);
  EXPECT_EQ(second.code(), Code::kTimeout) << second.toString();
  EXPECT_LT(Clock::now() - start, deadline(5s));
  // The same tag waits for the first op to end before it starts at all.
  auto third = std::async(std::launch::async, [&] {
    return a.allReduce(same_tag.data(), same_tag.data(), same_tag.size(), DType::kF32,
                       ReduceOp::kSum, 3, 300ms, nullptr);
  });
  EXPECT_EQ(third.wait_for(deadline(1s)), std::future_status::timeout) << "it overlapped";
  const auto aborted = Clock::now();
  a.abort("test over");
  EXPECT_EQ(first.get().code(), Code::kAborted);
  EXPECT_EQ(third.get().code(), Code::kAborted);
  EXPECT_LT(Clock::now() - aborted, deadline(2s));
}

TEST(AllReduceFailure, APeerThatNeverCallsMakesTheOthersTimeOut) {
  RingCluster cluster(ringOnly());
  cluster.grow(3);
  const auto timeout = deadline(800ms);
  std::vector<Clock::duration> took(3);
  auto statuses = cluster.runEach(
      [&](int r) {
        std::vector<double> buf(10'000, 2.0);
        const auto started = Clock::now();
        Status s = cluster.peer(r).allReduce(buf.data(), buf.data(), buf.size(), DType::kF64,
                                             ReduceOp::kSum, 11, timeout, nullptr);
        took[static_cast<size_t>(r)] = Clock::now() - started;
        return s;
      },
      {0, 1});
  for (int r : {0, 1}) {
    const auto i = static_cast<size_t>(r);
    EXPECT_EQ(statuses[i].code(), Code::kTimeout) << r << ": " << statuses[i].toString();
    EXPECT_TRUE(contains(statuses[i], "waiting for")) << statuses[i].toString();
    EXPECT_GE(took[i], timeout);
    EXPECT_LT(took[i], timeout + deadline(3s));
  }
}

TEST(AllReduceFailure, ADestroyedPeerMidOpGivesTheSurvivorsPeerLost) {
  RingCluster cluster(ringOnly());
  cluster.grow(3);
  comm::Communicator* survivors[] = {&cluster.peer(0), &cluster.peer(1)};
  std::vector<Status> statuses(2);
  std::vector<Clock::time_point> ended(2);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < 2; ++i) {
    threads.emplace_back([&, i] {
      std::vector<int64_t> buf(50'000, 3);
      statuses[i] = survivors[i]->allReduce(buf.data(), buf.data(), buf.size(), DType::kI64,
                                            ReduceOp::kMax, 12, deadline(60s), nullptr);
      ended[i] = Clock::now();
    });
  }
  std::this_thread::sleep_for(300ms);
  const auto destroyed = Clock::now();
  cluster.destroy(2);  // rank 2 never called the op; it leaves now
  for (auto& t : threads)
    t.join();
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(statuses[i].code(), Code::kPeerLost) << i << ": " << statuses[i].toString();
    // Loss detection: the leave (or the closed channel) arrives well within
    // the heartbeat deadline (4 x 100 ms) plus slack.
    EXPECT_LT(ended[i] - destroyed, deadline(3s));
  }
  // The survivors form a ring of two and carry on.
  cluster.update();
  ASSERT_EQ(cluster.size(), 2);
  expectSumWorks(cluster, 5000, 13);
}

TEST(AllReduceFailure, BadArgumentsAreRefusedBeforeAnyMessage) {
  RingCluster cluster(ringOnly());
  cluster.grow(2);
  auto& a = cluster.peer(0);
  std::vector<float> buf(64, 1.0f);
  Status tag =
      a.allReduce(buf.data(), buf.data(), 8, DType::kF32, ReduceOp::kSum, 1ull << 32, 1s, nullptr);
  EXPECT_EQ(tag.code(), Code::kInvalidArgument) << tag.toString();
  Status overlap =
      a.allReduce(buf.data(), buf.data() + 4, 8, DType::kF32, ReduceOp::kSum, 1, 1s, nullptr);
  EXPECT_EQ(overlap.code(), Code::kInvalidArgument) << overlap.toString();
  Status null = a.allReduce(nullptr, buf.data(), 8, DType::kF32, ReduceOp::kSum, 1, 1s, nullptr);
  EXPECT_EQ(null.code(), Code::kInvalidArgument) << null.toString();
  Status dtype = a.allReduce(buf.data(), buf.data(), 8, static_cast<DType>(42), ReduceOp::kSum, 1,
                             1s, nullptr);
  EXPECT_EQ(dtype.code(), Code::kInvalidArgument) << dtype.toString();
  // None of them touched the ring: a real op still works.
  expectSumWorks(cluster, 10, 2);
}

}  // namespace
}  // namespace eccl::test
