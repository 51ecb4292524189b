// The small all-reduce (recursive doubling between partners over direct
// channels, comm_rd_allreduce.cc): peers that disagree, a peer that never
// calls, abort, a partner that leaves mid-op, concurrent ops. Exact results
// for every dtype, op and world size are in allreduce_test.cc, a count
// mismatch between two peers in failure_test.cc.
#include <gtest/gtest.h>

#include <future>
#include <regex>
#include <string>
#include <tuple>
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

TEST(SmallAllReduce, DtypeMismatchFailsEveryPeerWithoutHanging) {
  RingCluster cluster;
  cluster.grow(4);
  const auto started = Clock::now();
  auto statuses = cluster.runEach([&](int r) {
    std::vector<int32_t> buf(64, 1);
    return cluster.peer(r).allReduce(buf.data(), buf.data(), buf.size(),
                                     r == 3 ? DType::kF32 : DType::kI32, ReduceOp::kSum, 1,
                                     deadline(20s), nullptr);
  });
  EXPECT_LT(Clock::now() - started, deadline(5s));
  // Rank 3 meets rank 2 first (round 0): both name the dtype. Ranks 0 and 1
  // learn of it from the notices ranks 2 and 3 send them in round 1.
  for (int r : {2, 3}) {
    EXPECT_EQ(statuses[static_cast<size_t>(r)].code(), Code::kInvalidUsage)
        << r << ": " << statuses[static_cast<size_t>(r)].toString();
    EXPECT_TRUE(contains(statuses[static_cast<size_t>(r)], "has dtype"))
        << statuses[static_cast<size_t>(r)].toString();
  }
  for (int r : {0, 1}) {
    EXPECT_EQ(statuses[static_cast<size_t>(r)].code(), Code::kInvalidUsage)
        << r << ": " << statuses[static_cast<size_t>(r)].toString();
    EXPECT_TRUE(contains(statuses[static_cast<size_t>(r)], "reports that the peers disagree"))
        << statuses[static_cast<size_t>(r)].toString();
    EXPECT_TRUE(contains(statuses[static_cast<size_t>(r)], "has dtype"))
        << statuses[static_cast<size_t>(r)].toString();
  }
  cluster.update();
  expectSumWorks(cluster, 64, 2);
}

// (world size, the rank whose count differs)
class SmallCountMismatch : public ::testing::TestWithParam<std::tuple<int, int>> {};

// Only the partners of the peer that differs read its header; every other
// peer learns of the mismatch from the notices that travel in place of the
// headers of later exchanges, so that none reports a lost peer.
TEST_P(SmallCountMismatch, FailsEveryPeerWithInvalidUsageNamingTheCount) {
  const auto [n, odd] = GetParam();
  RingCluster cluster;
  cluster.grow(n);
  const auto started = Clock::now();
  auto statuses = cluster.runEach([&, odd = odd](int r) {
    std::vector<float> buf(16, 1.0f);
    return cluster.peer(r).allReduce(buf.data(), buf.data(), r == odd ? 16 : 8, DType::kF32,
                                     ReduceOp::kSum, 9, deadline(20s), nullptr);
  });
  EXPECT_LT(Clock::now() - started, deadline(5s));
  // "... has count 8, this peer 16" where the header arrived, "... rank 0 has
  // count 16, rank 1 8" where a notice did.
  const std::regex names_count(R"(has count (8|16), (this peer|rank [0-9]+) (8|16))");
  for (int r = 0; r < n; ++r) {
    const Status& s = statuses[static_cast<size_t>(r)];
    EXPECT_EQ(s.code(), Code::kInvalidUsage) << "rank " << r << ": " << s.toString();
    std::smatch m;
    const std::string text = s.message();
    EXPECT_TRUE(std::regex_search(text, m, names_count) && m[1] != m[3])
        << "rank " << r << ": " << s.toString();
  }
  cluster.update();
  expectSumWorks(cluster, 8, 10);
}

INSTANTIATE_TEST_SUITE_P(SmallAllReduce, SmallCountMismatch,
                         ::testing::Values(std::make_tuple(2, 0), std::make_tuple(2, 1),
                                           std::make_tuple(3, 0), std::make_tuple(3, 1),
                                           std::make_tuple(3, 2), std::make_tuple(4, 0),
                                           std::make_tuple(4, 2), std::make_tuple(4, 3),
                                           std::make_tuple(5, 0), std::make_tuple(5, 2),
                                           std::make_tuple(5, 4), std::make_tuple(6, 5),
                                           std::make_tuple(7, 3), std::make_tuple(8, 6)),
                         [](const auto& param_info) {
                           return "World" + std::to_string(std::get<0>(param_info.param)) + "Rank" +
                                  std::to_string(std::get<1>(param_info.param));
                         });

TEST(SmallAllReduce, APeerThatNeverCallsTimesOutItsPartners) {
  RingCluster cluster;
  cluster.grow(3);
  const auto timeout = deadline(1s);
  const auto started = Clock::now();
  auto statuses = cluster.runEach(
      [&](int r) {
        std::vector<int32_t> buf(10, 1);
        return cluster.peer(r).allReduce(buf.data(), buf.data(), buf.size(), DType::kI32,
                                         ReduceOp::kSum, 3, timeout, nullptr);
      },
      {0, 1});
  EXPECT_LT(Clock::now() - started, timeout + deadline(3s));
  for (int r : {0, 1}) {
    EXPECT_EQ(statuses[static_cast<size_t>(r)].code(), Code::kTimeout)
        << statuses[static_cast<size_t>(r)].toString();
  }
}

TEST(SmallAllReduce, AbortEndsItAtOnce) {
  RingCluster cluster;
  cluster.grow(2);
  comm::Communicator& a = cluster.peer(0);
  auto op = std::async(std::launch::async, [&] {
    std::vector<float> buf(1000, 1.0f);
    return a.allReduce(buf.data(), buf.data(), buf.size(), DType::kF32, ReduceOp::kSum, 3,
                       deadline(30s), nullptr);
  });
  std::this_thread::sleep_for(200ms);
  const auto aborted = Clock::now();
  a.abort("test");
  ASSERT_EQ(op.wait_for(deadline(3s)), std::future_status::ready);
  EXPECT_LT(Clock::now() - aborted, deadline(2s));
  EXPECT_EQ(op.get().code(), Code::kAborted);
}

TEST(SmallAllReduce, APartnerThatLeavesMidOpFailsTheOthers) {
  RingCluster cluster;
  cluster.grow(4);
  const auto started = Clock::now();
  std::vector<std::future<Status>> ops;
  for (int r = 0; r < 3; ++r) {
    // The communicator, not the cluster: destroy() changes the cluster's ranks meanwhile.
    comm::Communicator& peer = cluster.peer(r);
    ops.push_back(std::async(std::launch::async, [&peer, r] {
      std::vector<int64_t> buf(500, r);
      return peer.allReduce(buf.data(), buf.data(), buf.size(), DType::kI64, ReduceOp::kMax, 4,
                            deadline(30s), nullptr);
    }));
  }
  std::this_thread::sleep_for(200ms);
  cluster.destroy(3);  // it never called: its partners wait for it until it is gone
  for (auto& op : ops) {
    ASSERT_EQ(op.wait_for(deadline(10s)), std::future_status::ready);
    const Status s = op.get();
    EXPECT_EQ(s.code(), Code::kPeerLost) << s.toString();
  }
  EXPECT_LT(Clock::now() - started, deadline(10s));
  cluster.update();
  expectSumWorks(cluster, 500, 5);
}

TEST(SmallAllReduce, ConcurrentOpsWithDistinctTagsAreEachExact) {
  RingCluster cluster;
  cluster.grow(3);
  constexpr int kOps = 4;
  std::vector<std::vector<std::vector<int32_t>>> data(3);
  auto statuses = cluster.runEach([&](int r) {
    auto& mine = data[static_cast<size_t>(r)];
    mine.assign(kOps, {});
    std::vector<std::shared_ptr<comm::Request>> requests;
    for (int k = 0; k < kOps; ++k) {
      mine[static_cast<size_t>(k)].assign(100 + static_cast<size_t>(k), (r + 1) * (k + 1));
      auto& d = mine[static_cast<size_t>(k)];
      auto request =
          cluster.peer(r).allReduceAsync(d.data(), d.data(), d.size(), DType::kI32, ReduceOp::kSum,
                                         10 + static_cast<uint64_t>(k), deadline(20s));
      if (!request) return request.status();
      requests.push_back(*request);
    }
    for (auto& request : requests)
      ECCL_RETURN_IF_ERROR(request->wait());
    return Status::ok();
  });
  for (int r = 0; r < 3; ++r) {
    ASSERT_TRUE(statuses[static_cast<size_t>(r)].isOk())
        << statuses[static_cast<size_t>(r)].toString();
    for (int k = 0; k < kOps; ++k) {
      for (int32_t v : data[static_cast<size_t>(r)][static_cast<size_t>(k)])
        ASSERT_EQ(v, 6 * (k + 1));
    }
  }
}

}  // namespace
}  // namespace eccl::test
