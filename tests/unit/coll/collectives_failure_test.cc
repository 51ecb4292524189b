// Failing broadcasts, all-gathers and reduce-scatters: peers that disagree on
// the op, bad arguments, a neighbour that vanishes mid-op, abort and timeout.
// None may hang; each survivor gets an error within a bound.
#include <gtest/gtest.h>

#include <future>
#include <thread>
#include <vector>

#include "src/coll/block_counts.h"
#include "src/coll/ring_all_gather.h"
#include "src/coll/ring_allreduce.h"
#include "src/coll/ring_broadcast.h"
#include "src/coll/ring_reduce_scatter.h"
#include "tests/support/test_env.h"
#include "tests/unit/coll/channel_ring.h"
#include "tests/unit/coll/peer_threads.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using reduce::DType;
using reduce::ReduceOp;

Clock::time_point in(std::chrono::milliseconds d) {
  return Clock::now() + deadline(d);
}

Status broadcast(ChannelRing& ring, int r, std::vector<uint8_t>& buf, uint32_t root, uint64_t tag,
                 Clock::time_point until = in(20s), const coll::CollOptions& options = {},
                 coll::OpInfo* info = nullptr) {
  auto state = coll::OpState::create();
  return coll::ringBroadcast(ring.view(r), {buf.data(), buf.size(), DType::kU8, root, tag}, options,
                             until, *state, info);
}

Status allGather(ChannelRing& ring, int r, const std::vector<size_t>& counts, DType dtype,
                 uint64_t tag, Clock::time_point until = in(20s)) {
  const size_t element = reduce::dtypeSize(dtype);
  size_t total = 0;
  for (size_t c : counts)
    total += c;
  std::vector<uint8_t> send(counts[static_cast<size_t>(r)] * element, 1);
  std::vector<uint8_t> recv(total * element);
  auto state = coll::OpState::create();
  return coll::ringAllGatherV(ring.view(r), {send.data(), recv.data(), counts, dtype, tag}, {},
                              until, *state, nullptr);
}

Status reduceScatter(ChannelRing& ring, int r, const std::vector<size_t>& counts, DType dtype,
                     uint64_t tag, Clock::time_point until = in(20s)) {
  const size_t element = reduce::dtypeSize(dtype);
  size_t total = 0;
  for (size_t c : counts)
    total += c;
  std::vector<uint8_t> send(total * element, 0);
  std::vector<uint8_t> recv(counts[static_cast<size_t>(r)] * element);
  auto state = coll::OpState::create();
  return coll::ringReduceScatterV(ring.view(r),
                                  {send.data(), recv.data(), counts, dtype, ReduceOp::kSum, tag},
                                  {}, until, *state, nullptr);
}

std::string idOf(ChannelRing& ring, int r) {
  return ring.view(r).self.shortHex();
}

TEST(CollectiveMismatch, BroadcastRootsThatDifferFailBothPeersNamingTheRoot) {
  ChannelRing ring(2);
  ASSERT_TRUE(ring.ok());
  const auto started = Clock::now();
  auto statuses = ring.runEach([&](int r) {
    std::vector<uint8_t> buf(1000, 7);
    return broadcast(ring, r, buf, static_cast<uint32_t>(r), 1);
  });
  EXPECT_LT(Clock::now() - started, deadline(5s));
  for (int r = 0; r < 2; ++r) {
    const Status& s = statuses[static_cast<size_t>(r)];
    EXPECT_EQ(s.code(), Code::kInvalidUsage) << s.toString();
    const int other = 1 - r;
    EXPECT_TRUE(contains(s, "peer " + idOf(ring, other) + " (rank " + std::to_string(other) +
                                ") has root " + std::to_string(other) + ", this peer " +
                                std::to_string(r)))
        << s.toString();
  }
}

TEST(CollectiveMismatch, AllGatherCountsThatDifferFailEveryNeighbourNamingTheCounts) {
  ChannelRing ring(3);
  ASSERT_TRUE(ring.ok());
  const auto started = Clock::now();
  // Same sum, another split: only the counts hash tells them apart.
  auto statuses = ring.runEach([&](int r) {
    return allGather(ring, r, r == 1 ? std::vector<size_t>{5, 3, 4} : std::vector<size_t>{4, 4, 4},
                     DType::kF32, 2);
  });
  EXPECT_LT(Clock::now() - started, deadline(5s));
  // In a ring of three every peer is a neighbour of rank 1.
  for (int r = 0; r < 3; ++r) {
    const Status& s = statuses[static_cast<size_t>(r)];
    EXPECT_EQ(s.code(), Code::kInvalidUsage) << r << ": " << s.toString();
    EXPECT_TRUE(contains(s, "has counts hash")) << r << ": " << s.toString();
  }
  EXPECT_TRUE(contains(statuses[0], "peer " + idOf(ring, 1) + " (rank 1)"))
      << statuses[0].toString();
  EXPECT_TRUE(contains(statuses[2], "peer " + idOf(ring, 1) + " (rank 1)"))
      << statuses[2].toString();
}

TEST(CollectiveMismatch, ReduceScatterSumsThatDifferNameTheCount) {
  ChannelRing ring(2);
  ASSERT_TRUE(ring.ok());
  auto statuses = ring.runEach([&](int r) {
    return reduceScatter(ring, r, r == 0 ? std::vector<size_t>{4, 4} : std::vector<size_t>{4, 5},
                         DType::kI32, 3);
  });
  EXPECT_EQ(statuses[0].code(), Code::kInvalidUsage) << statuses[0].toString();
  EXPECT_EQ(statuses[1].code(), Code::kInvalidUsage) << statuses[1].toString();
  EXPECT_TRUE(contains(statuses[0], "has count 9, this peer 8")) << statuses[0].toString();
  EXPECT_TRUE(contains(statuses[1], "has count 8, this peer 9")) << statuses[1].toString();
}

TEST(CollectiveMismatch, ReduceScatterDtypesThatDifferFailBothPeersNamingTheDtype) {
  ChannelRing ring(2);
  ASSERT_TRUE(ring.ok());
  auto statuses = ring.runEach([&](int r) {
    return reduceScatter(ring, r, {64, 64}, r == 0 ? DType::kI32 : DType::kF32, 4);
  });
  EXPECT_EQ(statuses[0].code(), Code::kInvalidUsage) << statuses[0].toString();
  EXPECT_EQ(statuses[1].code(), Code::kInvalidUsage) << statuses[1].toString();
  EXPECT_TRUE(contains(statuses[0], "has dtype f32, this peer i32")) << statuses[0].toString();
  EXPECT_TRUE(contains(statuses[1], "has dtype i32, this peer f32")) << statuses[1].toString();
}

TEST(CollectiveMismatch, DifferentCollectivesNameTheCollective) {
  ChannelRing ring(2);
  ASSERT_TRUE(ring.ok());
  auto statuses = ring.runEach([&](int r) {
    if (r == 0) {
      std::vector<float> buf(16, 1.0f);
      auto state = coll::OpState::create();
      return coll::ringAllReduce(ring.view(0),
                                 {buf.data(), buf.data(), 16, DType::kF32, ReduceOp::kSum, 5}, {},
                                 in(20s), *state, nullptr);
    }
    return reduceScatter(ring, r, {8, 8}, DType::kF32, 5);
  });
  EXPECT_EQ(statuses[0].code(), Code::kInvalidUsage) << statuses[0].toString();
  EXPECT_EQ(statuses[1].code(), Code::kInvalidUsage) << statuses[1].toString();
  EXPECT_TRUE(contains(statuses[0], "has collective reduceScatter, this peer allReduce"))
      << statuses[0].toString();
  EXPECT_TRUE(contains(statuses[1], "has collective allReduce, this peer reduceScatter"))
      << statuses[1].toString();
}

TEST(CollectiveArguments, BadArgumentsAreRefusedBeforeAnyMessage) {
  ChannelRing ring(2);
  ASSERT_TRUE(ring.ok());
  const coll::RingView& view = ring.view(0);
  auto state = coll::OpState::create();
  std::vector<uint8_t> buf(64, 0);
  std::vector<uint8_t> out(64, 0);
  const std::vector<size_t> two = {8, 8};
  const std::vector<size_t> three = {8, 8, 8};
  const std::vector<size_t> overflow = {SIZE_MAX / 2, SIZE_MAX / 2 + 2};
  std::vector<std::pair<std::string, Status>> refused;
  coll::OpInfo info;
  auto bcast = [&](const coll::BroadcastArgs& a, const coll::CollOptions& o = {}) {
    return coll::ringBroadcast(view, a, o, in(1s), *state, &info);
  };
  auto gather = [&](const coll::AllGatherArgs& a, const coll::CollOptions& o = {}) {
    return coll::ringAllGatherV(view, a, o, in(1s), *state, &info);
  };
  auto scatter = [&](const coll::ReduceScatterArgs& a, const coll::CollOptions& o = {}) {
    return coll::ringReduceScatterV(view, a, o, in(1s), *state, &info);
  };
  coll::CollOptions tiny;
  tiny.chunk_bytes = 1;  // one element per message: more than a stream id numbers
  // Each link carries 70 000 one-byte messages (a block, twice the buffer of a broadcast).
  std::vector<uint8_t> large(140'000, 0);
  std::vector<uint8_t> large_out(140'000, 0);
  const std::vector<size_t> large_counts = {70'000, 70'000};
  refused.emplace_back("broadcast root", bcast({buf.data(), 8, DType::kU8, 2, 1}));
  refused.emplace_back("broadcast NULL", bcast({nullptr, 8, DType::kU8, 0, 1}));
  refused.emplace_back("broadcast dtype", bcast({buf.data(), 8, static_cast<DType>(99), 0, 1}));
  refused.emplace_back("broadcast tag", bcast({buf.data(), 8, DType::kU8, 0, uint64_t{1} << 32}));
  refused.emplace_back("broadcast size", bcast({buf.data(), SIZE_MAX / 4 + 1, DType::kF32, 0, 1}));
  refused.emplace_back("broadcast messages", bcast({large.data(), 70'000, DType::kU8, 0, 1}, tiny));
  refused.emplace_back("allGather counts", gather({buf.data(), out.data(), three, DType::kU8, 1}));
  refused.emplace_back("allGather NULL send", gather({nullptr, out.data(), two, DType::kU8, 1}));
  refused.emplace_back("allGather NULL recv", gather({buf.data(), nullptr, two, DType::kU8, 1}));
  refused.emplace_back("allGather overflow",
                       gather({buf.data(), out.data(), overflow, DType::kU8, 1}));
  refused.emplace_back("allGather overlap",
                       gather({out.data() + 1, out.data(), two, DType::kU8, 1}));
  refused.emplace_back("allGather messages",
                       gather({large.data(), large_out.data(), large_counts, DType::kU8, 1}, tiny));
  refused.emplace_back("reduceScatter counts",
                       scatter({buf.data(), out.data(), three, DType::kU8, ReduceOp::kSum, 1}));
  refused.emplace_back("reduceScatter NULL send",
                       scatter({nullptr, out.data(), two, DType::kU8, ReduceOp::kSum, 1}));
  refused.emplace_back("reduceScatter NULL recv",
                       scatter({buf.data(), nullptr, two, DType::kU8, ReduceOp::kSum, 1}));
  refused.emplace_back("reduceScatter op", scatter({buf.data(), out.data(), two, DType::kU8,
                                                    static_cast<ReduceOp>(5), 1}));
  refused.emplace_back("reduceScatter overflow",
                       scatter({buf.data(), out.data(), overflow, DType::kU8, ReduceOp::kSum, 1}));
  refused.emplace_back("reduceScatter overlap",
                       scatter({buf.data(), buf.data() + 1, two, DType::kU8, ReduceOp::kSum, 1}));
  refused.emplace_back(
      "reduceScatter messages",
      scatter({large.data(), large_out.data(), large_counts, DType::kU8, ReduceOp::kSum, 1}, tiny));
  for (const auto& [what, s] : refused)
    EXPECT_EQ(s.code(), Code::kInvalidArgument) << what << ": " << s.toString();
  // None of them reported an op, sent a header or closed a channel: real ops
  // still meet on both peers.
  EXPECT_EQ(info.bytes_sent, 0u);
  EXPECT_EQ(info.world_size, 0u);
  auto statuses = ring.runEach([&](int r) {
    std::vector<uint8_t> data(100, static_cast<uint8_t>(r));
    Status s = broadcast(ring, r, data, 1, 9);
    if (!s.isOk()) return s;
    if (data != std::vector<uint8_t>(100, 1)) return internalError("broadcast result");
    s = allGather(ring, r, {3, 5}, DType::kI32, 10);
    if (!s.isOk()) return s;
    return reduceScatter(ring, r, {2, 0}, DType::kF64, 11);
  });
  for (int r = 0; r < 2; ++r) {
    EXPECT_TRUE(statuses[static_cast<size_t>(r)].isOk())
        << r << ": " << statuses[static_cast<size_t>(r)].toString();
  }
}

enum class Which { kBroadcast, kAllGather, kReduceScatter };

class VanishedNeighbour : public ::testing::TestWithParam<Which> {};

// Rank 2 never calls; once ranks 0 and 1 are deep in the op (headers sent,
// data queued: rank 1 forwards the root's chunks to rank 2) its channels close,
// as when a peer dies. Both survivors get kPeerLost at once, not at the deadline.
TEST_P(VanishedNeighbour, EverySurvivorFailsWithinABound) {
  ChannelRing ring(3);
  ASSERT_TRUE(ring.ok());
  const size_t count = 1 << 20;
  std::vector<Status> statuses(2);
  std::vector<Clock::time_point> ended(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r) {
    threads.emplace_back([&, r] {
      const auto i = static_cast<size_t>(r);
      switch (GetParam()) {
        case Which::kBroadcast: {
          std::vector<uint8_t> buf(count * 4, 3);
          statuses[i] = broadcast(ring, r, buf, 0, 12, in(60s));
          break;
        }
        case Which::kAllGather:
          statuses[i] = allGather(ring, r, {count, count / 2, count}, DType::kF32, 12, in(60s));
          break;
        case Which::kReduceScatter:
          statuses[i] = reduceScatter(ring, r, {count, count / 2, count}, DType::kF32, 12, in(60s));
          break;
      }
      ended[i] = Clock::now();
    });
  }
  std::this_thread::sleep_for(300ms);
  const auto isolated = Clock::now();
  ring.isolate(2, "rank 2 died");
  for (auto& t : threads)
    t.join();
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(statuses[i].code(), Code::kPeerLost) << i << ": " << statuses[i].toString();
    EXPECT_LT(ended[i] - isolated, deadline(3s)) << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Collectives, VanishedNeighbour,
                         ::testing::Values(Which::kBroadcast, Which::kAllGather,
                                           Which::kReduceScatter),
                         [](const auto& param_info) {
                           switch (param_info.param) {
                             case Which::kBroadcast:
                               return std::string("Broadcast");
                             case Which::kAllGather:
                               return std::string("AllGather");
                             case Which::kReduceScatter:
                               break;
                           }
                           return std::string("ReduceScatter");
                         });

TEST(CollectiveFailure, APeerThatNeverCallsMakesTheOthersTimeOut) {
  ChannelRing ring(3);
  ASSERT_TRUE(ring.ok());
  const auto timeout = deadline(800ms);
  std::vector<Clock::duration> took(3);
  auto statuses = ring.runEach(
      [&](int r) {
        const auto started = Clock::now();
        Status s = reduceScatter(ring, r, {5000, 5000, 5000}, DType::kF64, 13, started + timeout);
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

TEST(CollectiveFailure, AbortEndsABlockedOpAtOnce) {
  ChannelRing ring(2);
  ASSERT_TRUE(ring.ok());
  auto state = coll::OpState::create();
  auto op = std::async(std::launch::async, [&] {
    std::vector<uint8_t> send(1 << 16, 1);
    std::vector<uint8_t> recv(send.size());
    const std::vector<size_t> counts = coll::equalCounts(2, send.size() / 2);
    Status s =
        coll::ringAllGatherV(ring.view(0), {send.data(), recv.data(), counts, DType::kU8, 14}, {},
                             in(60s), *state, nullptr);
    return std::make_pair(s, Clock::now());
  });
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(op.wait_for(0s), std::future_status::timeout) << "the op did not block";
  const auto aborted = Clock::now();
  state->fail(abortedError("test"));
  auto [status, returned] = op.get();
  EXPECT_EQ(status.code(), Code::kAborted) << status.toString();
  EXPECT_LT(returned - aborted, deadline(1s));
}

}  // namespace
}  // namespace eccl::test
