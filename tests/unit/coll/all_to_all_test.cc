// All-to-all through the Communicator: exact blocks for 1..5 peers (empty
// blocks too), peers that disagree fail on both sides naming the field, and a
// missing or aborting peer ends the op with a clean error in bounded time.
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

// What rank `from` sends to rank `to` at element i.
int64_t value(int from, int to, size_t i) {
  return int64_t{from} * 1'000'000'000 + int64_t{to} * 1'000'000 + static_cast<int64_t>(i);
}

void expectExactExchange(int peers, size_t count) {
  RingCluster cluster;
  cluster.grow(peers);
  const auto n = static_cast<size_t>(peers);
  std::vector<std::vector<int64_t>> received(n, std::vector<int64_t>(n * count, -1));
  auto statuses = cluster.runEach([&](int r) {
    std::vector<int64_t> send(n * count);
    for (size_t to = 0; to < n; ++to) {
      for (size_t i = 0; i < count; ++i)
        send[to * count + i] = value(r, static_cast<int>(to), i);
    }
    coll::OpInfo info;
    Status s = cluster.peer(r).allToAll(send.data(), received[static_cast<size_t>(r)].data(), count,
                                        DType::kI64, 5, deadline(20s), &info);
    if (s.isOk() && info.world_size != static_cast<uint32_t>(peers)) {
      return internalError("wrong world size in the report");
    }
    return s;
  });
  for (size_t r = 0; r < n; ++r) {
    ASSERT_TRUE(statuses[r].isOk()) << statuses[r].toString();
    for (size_t from = 0; from < n; ++from) {
      for (size_t i = 0; i < count; ++i) {
        ASSERT_EQ(received[r][from * count + i],
                  value(static_cast<int>(from), static_cast<int>(r), i))
            << "rank " << r << " block " << from << " element " << i;
      }
    }
  }
}

TEST(AllToAll, ExactBlocksForOneToFivePeers) {
  for (int peers : {1, 2, 3, 5}) {
    SCOPED_TRACE(peers);
    expectExactExchange(peers, 3001);
  }
}

TEST(AllToAll, EmptyBlocksExchangeOnlyHeaders) {
  expectExactExchange(3, 0);
}

TEST(AllToAll, ACountMismatchFailsOnBothSidesNamingTheField) {
  RingCluster cluster;
  cluster.grow(2);
  auto statuses = cluster.runEach([&](int r) {
    const size_t count = r == 0 ? 10 : 12;
    std::vector<int32_t> send(2 * count, r), recv(2 * count);
    return cluster.peer(r).allToAll(send.data(), recv.data(), count, DType::kI32, 1, deadline(10s),
                                    nullptr);
  });
  for (const Status& s : statuses) {
    EXPECT_EQ(s.code(), Code::kInvalidUsage) << s.toString();
    EXPECT_NE(s.message().find("count"), std::string::npos) << s.toString();
  }
}

TEST(AllToAll, APeerThatNeverCallsMakesTheOthersTimeOut) {
  RingCluster cluster;
  cluster.grow(3);
  const auto start = Clock::now();
  auto statuses = cluster.runEach(
      [&](int r) {
        std::vector<int32_t> send(30, r), recv(30);
        return cluster.peer(r).allToAll(send.data(), recv.data(), 10, DType::kI32, 1, 500ms,
                                        nullptr);
      },
      {0, 1});
  for (int r : {0, 1}) {
    const Status& s = statuses[static_cast<size_t>(r)];
    EXPECT_TRUE(s.code() == Code::kTimeout || s.code() == Code::kPeerLost) << s.toString();
  }
  EXPECT_LT(Clock::now() - start, deadline(5s));
}

TEST(AllToAll, AbortEndsTheOpAtOnce) {
  RingCluster cluster;
  cluster.grow(2);
  std::vector<int32_t> send(20, 1), recv(20);
  auto op = std::async(std::launch::async, [&] {
    return cluster.peer(0).allToAll(send.data(), recv.data(), 10, DType::kI32, 1, deadline(60s),
                                    nullptr);
  });
  std::this_thread::sleep_for(200ms);
  const auto start = Clock::now();
  cluster.peer(0).abort("test");
  EXPECT_EQ(op.get().code(), Code::kAborted);
  EXPECT_LT(Clock::now() - start, deadline(3s));
}

}  // namespace
}  // namespace eccl::test
