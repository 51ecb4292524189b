// Asynchronous collectives: requests complete in call order with exact
// results, blocking calls and topology updates queue behind them, and abort
// and destruction end every outstanding request at once.
#include <gtest/gtest.h>

#include <future>
#include <vector>

#include "tests/support/test_env.h"
#include "tests/unit/coll/ring_cluster.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using reduce::DType;
using reduce::ReduceOp;

constexpr size_t kCount = 100'003;  // several chunks with the default chunk size

// value = rank * 1000 + op * 7 + i; the i32 sum over n peers is known.
int32_t value(int rank, int op, size_t i) {
  return rank * 1000 + op * 7 + static_cast<int32_t>(i % 1000);
}
int32_t sum(int n, int op, size_t i) {
  return 1000 * n * (n - 1) / 2 + n * (op * 7 + static_cast<int32_t>(i % 1000));
}

TEST(AsyncCollectives, RequestsOfDistinctTagsCompleteWithExactResults) {
  RingCluster cluster(ringOnly());
  cluster.grow(3);
  constexpr int kOps = 4;
  std::vector<std::vector<std::vector<int32_t>>> data(3);
  auto statuses = cluster.runEach([&](int r) -> Status {
    auto& mine = data[static_cast<size_t>(r)];
    std::vector<std::shared_ptr<comm::Request>> requests;
    for (int op = 0; op < kOps; ++op) {
      mine.emplace_back(kCount);
      for (size_t i = 0; i < kCount; ++i)
        mine.back()[i] = value(r, op, i);
      auto request = cluster.peer(r).allReduceAsync(mine.back().data(), mine.back().data(), kCount,
                                                    DType::kI32, ReduceOp::kSum,
                                                    static_cast<uint64_t>(op), deadline(20s));
      ECCL_RETURN_IF_ERROR(request.status());
      requests.push_back(*request);
    }
    for (const auto& request : requests) {
      ECCL_RETURN_IF_ERROR(request->wait());
      if (request->info().world_size != 3) return internalError("wrong world size in the report");
    }
    return Status::ok();
  });
  for (int r = 0; r < 3; ++r) {
    ASSERT_TRUE(statuses[static_cast<size_t>(r)].isOk())
        << statuses[static_cast<size_t>(r)].toString();
    for (int op = 0; op < kOps; ++op) {
      const auto& got = data[static_cast<size_t>(r)][static_cast<size_t>(op)];
      for (size_t i = 0; i < kCount; ++i)
        ASSERT_EQ(got[i], sum(3, op, i)) << "rank " << r << " op " << op << " element " << i;
    }
  }
}

TEST(AsyncCollectives, BlockingCallsAndUpdatesQueueBehindOutstandingRequests) {
  RingCluster cluster(ringOnly());
  cluster.grow(2);
  std::vector<std::vector<int32_t>> async_data(2, std::vector<int32_t>(kCount));
  std::vector<std::vector<int32_t>> blocking_data(2, std::vector<int32_t>(kCount));
  auto statuses = cluster.runEach([&](int r) -> Status {
    auto& first = async_data[static_cast<size_t>(r)];
    auto& second = blocking_data[static_cast<size_t>(r)];
    for (size_t i = 0; i < kCount; ++i) {
      first[i] = value(r, 0, i);
      second[i] = value(r, 1, i);
    }
    auto& peer = cluster.peer(r);
    // The same tag: the blocking op starts only once the async one has ended.
    auto request = peer.allReduceAsync(first.data(), first.data(), kCount, DType::kI32,
                                       ReduceOp::kSum, 1, deadline(20s));
    ECCL_RETURN_IF_ERROR(request.status());
    ECCL_RETURN_IF_ERROR(peer.allReduce(second.data(), second.data(), kCount, DType::kI32,
                                        ReduceOp::kSum, 1, deadline(20s), nullptr));
    if (!(*request)->done()) return internalError("an op overlapped one with the same tag");
    // An update right behind another async op waits for it, not fails it.
    auto third = peer.allReduceAsync(first.data(), first.data(), kCount, DType::kI32,
                                     ReduceOp::kMax, 3, deadline(20s));
    ECCL_RETURN_IF_ERROR(third.status());
    ECCL_RETURN_IF_ERROR(peer.updateTopology(deadline(20s)));
    if (!(*third)->done()) return internalError("the update overtook the async op");
    return (*third)->status();
  });
  for (int r = 0; r < 2; ++r) {
    ASSERT_TRUE(statuses[static_cast<size_t>(r)].isOk())
        << statuses[static_cast<size_t>(r)].toString();
    for (size_t i = 0; i < kCount; ++i) {
      ASSERT_EQ(async_data[static_cast<size_t>(r)][i], sum(2, 0, i));  // max of equal sums
      ASSERT_EQ(blocking_data[static_cast<size_t>(r)][i], sum(2, 1, i));
    }
  }
}

TEST(AsyncCollectives, ALargeAndASmallOpInFlightTogetherBothComeOutExact) {
  RingCluster cluster(ringOnly());
  cluster.grow(3);
  constexpr size_t kLarge = 8u << 20;  // 32 MiB of i32
  std::vector<std::vector<int32_t>> large(3, std::vector<int32_t>(kLarge));
  std::vector<std::vector<int32_t>> small(3, std::vector<int32_t>(256));
  auto statuses = cluster.runEach([&](int r) -> Status {
    auto& big = large[static_cast<size_t>(r)];
    auto& little = small[static_cast<size_t>(r)];
    for (size_t i = 0; i < kLarge; ++i)
      big[i] = value(r, 0, i);
    for (size_t i = 0; i < little.size(); ++i)
      little[i] = value(r, 1, i);
    auto& peer = cluster.peer(r);
    auto first = peer.allReduceAsync(big.data(), big.data(), kLarge, DType::kI32, ReduceOp::kSum, 1,
                                     deadline(60s));
    ECCL_RETURN_IF_ERROR(first.status());
    auto second = peer.allReduceAsync(little.data(), little.data(), little.size(), DType::kI32,
                                      ReduceOp::kSum, 2, deadline(60s));
    ECCL_RETURN_IF_ERROR(second.status());
    ECCL_RETURN_IF_ERROR((*second)->wait());
    return (*first)->wait();
  });
  for (int r = 0; r < 3; ++r) {
    ASSERT_TRUE(statuses[static_cast<size_t>(r)].isOk())
        << statuses[static_cast<size_t>(r)].toString();
    for (size_t i = 0; i < kLarge; i += 4099)
      ASSERT_EQ(large[static_cast<size_t>(r)][i], sum(3, 0, i));
    for (size_t i = 0; i < 256; ++i)
      ASSERT_EQ(small[static_cast<size_t>(r)][i], sum(3, 1, i));
  }
}

TEST(AsyncCollectives, AbortEndsEveryOutstandingRequestAtOnce) {
  RingCluster cluster(ringOnly());
  cluster.grow(2);
  auto& a = cluster.peer(0);  // peer 1 never calls
  std::vector<std::vector<float>> bufs(3, std::vector<float>(64, 1.0f));
  std::vector<std::shared_ptr<comm::Request>> requests;
  for (size_t i = 0; i < bufs.size(); ++i) {
    auto request = a.allReduceAsync(bufs[i].data(), bufs[i].data(), bufs[i].size(), DType::kF32,
                                    ReduceOp::kSum, i, deadline(60s));
    ASSERT_TRUE(request) << request.status().toString();
    requests.push_back(*request);
  }
  std::this_thread::sleep_for(200ms);
  EXPECT_FALSE(requests.front()->done());
  const auto start = Clock::now();
  a.abort("test");
  for (const auto& request : requests) {
    ASSERT_TRUE(request->waitFor(deadline(2s)));
    EXPECT_EQ(request->status().code(), Code::kAborted) << request->status().toString();
  }
  EXPECT_LT(Clock::now() - start, deadline(2s));
}

TEST(AsyncCollectives, DestroyingTheCommunicatorEndsItsRequests) {
  RingCluster cluster(ringOnly());
  cluster.grow(2);
  std::vector<float> buf(64, 1.0f);
  auto request = cluster.peer(0).allReduceAsync(buf.data(), buf.data(), buf.size(), DType::kF32,
                                                ReduceOp::kSum, 1, deadline(60s));
  ASSERT_TRUE(request) << request.status().toString();
  std::this_thread::sleep_for(100ms);
  const auto start = Clock::now();
  cluster.destroy(0);
  ASSERT_TRUE((*request)->done()) << "destruction waits for the op to end";
  EXPECT_EQ((*request)->status().code(), Code::kAborted) << (*request)->status().toString();
  EXPECT_LT(Clock::now() - start, deadline(5s));
}

TEST(AsyncCollectives, EveryCollectiveQueuesInCallOrder) {
  RingCluster cluster(ringOnly());
  cluster.grow(3);
  constexpr size_t kEach = 5000;
  struct Buffers {
    std::vector<int32_t> broadcast = std::vector<int32_t>(kEach);
    std::vector<int32_t> mine = std::vector<int32_t>(kEach);
    std::vector<int32_t> gathered = std::vector<int32_t>(3 * kEach);
    std::vector<int32_t> all = std::vector<int32_t>(3 * kEach);
    std::vector<int32_t> scattered = std::vector<int32_t>(kEach);
  };
  std::vector<Buffers> bufs(3);
  auto statuses = cluster.runEach([&](int r) -> Status {
    Buffers& b = bufs[static_cast<size_t>(r)];
    for (size_t i = 0; i < kEach; ++i) {
      b.broadcast[i] = r == 2 ? value(9, 0, i) : -1;
      b.mine[i] = value(r, 1, i);
    }
    for (size_t i = 0; i < 3 * kEach; ++i)
      b.all[i] = value(r, 2, i);
    auto& peer = cluster.peer(r);
    std::vector<std::shared_ptr<comm::Request>> requests;
    for (auto submitted :
         {peer.broadcastAsync(b.broadcast.data(), kEach, DType::kI32, 2, 1, deadline(20s)),
          peer.allGatherAsync(b.mine.data(), b.gathered.data(), comm::BlockCounts{{}, kEach},
                              DType::kI32, 2, deadline(20s)),
          peer.reduceScatterAsync(b.all.data(), b.scattered.data(), comm::BlockCounts{{}, kEach},
                                  DType::kI32, ReduceOp::kSum, 3, deadline(20s))}) {
      ECCL_RETURN_IF_ERROR(submitted.status());
      requests.push_back(*submitted);
    }
    for (const auto& request : requests)
      ECCL_RETURN_IF_ERROR(request->wait());
    return peer.barrier(4, deadline(20s), nullptr);
  });
  for (int r = 0; r < 3; ++r) {
    ASSERT_TRUE(statuses[static_cast<size_t>(r)].isOk())
        << statuses[static_cast<size_t>(r)].toString();
    const Buffers& b = bufs[static_cast<size_t>(r)];
    for (size_t i = 0; i < kEach; ++i) {
      ASSERT_EQ(b.broadcast[i], value(9, 0, i));
      const size_t at = static_cast<size_t>(r) * kEach + i;
      ASSERT_EQ(b.scattered[i], value(0, 2, at) + value(1, 2, at) + value(2, 2, at));
      for (int k = 0; k < 3; ++k)
        ASSERT_EQ(b.gathered[static_cast<size_t>(k) * kEach + i], value(k, 1, i));
    }
  }
}

TEST(AsyncCollectives, ARootOutsideTheRingFailsTheRequestAndNothingElse) {
  RingCluster cluster(ringOnly());
  cluster.grow(2);
  auto statuses = cluster.runEach([&](int r) -> Status {
    std::vector<int32_t> buf(10, r);
    auto request =
        cluster.peer(r).broadcastAsync(buf.data(), buf.size(), DType::kI32, 2, 1, deadline(10s));
    ECCL_RETURN_IF_ERROR(request.status());
    Status bad = (*request)->wait();
    if (bad.code() != Code::kInvalidArgument) return internalError("got " + bad.toString());
    // An argument error sends nothing: the next op needs no topology update.
    return cluster.peer(r).broadcast(buf.data(), buf.size(), DType::kI32, 1, 2, deadline(10s),
                                     nullptr);
  });
  for (const Status& s : statuses)
    EXPECT_TRUE(s.isOk()) << s.toString();
}

TEST(BatchedAllReduce, ManyTensorsAreReducedAsOneOp) {
  RingCluster cluster(ringOnly());
  cluster.grow(3);
  // Sizes that cut chunks anywhere, an empty tensor, in place and out of place.
  const std::vector<size_t> sizes = {1, 0, 300'001, 17, 70'000};
  std::vector<std::vector<std::vector<int32_t>>> in(3), out(3);
  std::vector<coll::OpInfo> infos(3);
  auto statuses = cluster.runEach([&](int r) {
    auto& mine_in = in[static_cast<size_t>(r)];
    auto& mine_out = out[static_cast<size_t>(r)];
    std::vector<comm::TensorRef> tensors;
    for (size_t t = 0; t < sizes.size(); ++t) {
      mine_in.emplace_back(sizes[t]);
      mine_out.emplace_back(sizes[t], -1);
      for (size_t i = 0; i < sizes[t]; ++i)
        mine_in.back()[i] = value(r, static_cast<int>(t), i);
    }
    for (size_t t = 0; t < sizes.size(); ++t) {
      const bool in_place = t % 2 == 0;
      tensors.push_back(
          {mine_in[t].data(), in_place ? mine_in[t].data() : mine_out[t].data(), sizes[t]});
    }
    return cluster.peer(r).allReduceBatch(tensors, DType::kI32, ReduceOp::kSum, 9, deadline(20s),
                                          &infos[static_cast<size_t>(r)]);
  });
  size_t total = 0;
  for (size_t s : sizes)
    total += s;
  for (int r = 0; r < 3; ++r) {
    ASSERT_TRUE(statuses[static_cast<size_t>(r)].isOk())
        << statuses[static_cast<size_t>(r)].toString();
    // One op over the total: 2 (N-1)/N of it leaves each peer, plus two headers.
    EXPECT_NEAR(static_cast<double>(infos[static_cast<size_t>(r)].bytes_sent),
                total * 4.0 * 4 / 3 + 2 * 56, 64);
    for (size_t t = 0; t < sizes.size(); ++t) {
      const auto& got = t % 2 == 0 ? in[static_cast<size_t>(r)][t] : out[static_cast<size_t>(r)][t];
      for (size_t i = 0; i < sizes[t]; ++i)
        ASSERT_EQ(got[i], sum(3, static_cast<int>(t), i)) << "tensor " << t << " element " << i;
    }
  }
}

TEST(BatchedAllReduce, ABadTensorIsNamedByIndex) {
  RingCluster cluster(ringOnly());
  cluster.grow(1);
  float x = 0;
  auto bad = cluster.peer(0).allReduceBatch({{&x, &x, 1}, {nullptr, &x, 1}}, DType::kF32,
                                            ReduceOp::kSum, 0, 1s, nullptr);
  EXPECT_EQ(bad.code(), Code::kInvalidArgument);
  EXPECT_NE(bad.message().find("tensor 1"), std::string::npos) << bad.toString();
}

TEST(AsyncCollectives, ArgumentErrorsAreReportedAtOnce) {
  RingCluster cluster(ringOnly());
  cluster.grow(1);
  float x = 0;
  auto null_buffer =
      cluster.peer(0).allReduceAsync(nullptr, &x, 1, DType::kF32, ReduceOp::kSum, 0, 1s);
  EXPECT_EQ(null_buffer.status().code(), Code::kInvalidArgument);
  auto big_tag =
      cluster.peer(0).allReduceAsync(&x, &x, 1, DType::kF32, ReduceOp::kSum, uint64_t{1} << 32, 1s);
  EXPECT_EQ(big_tag.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(cluster.peer(0).opsOutstanding(), 0u);
}

}  // namespace
}  // namespace eccl::test
