// Ring all-reduce among 1..4 in-process communicators: exact results for every
// dtype and op, odd counts, chunk boundaries, in place and out of place, and
// identical bytes on every peer.
#include <gtest/gtest.h>

#include <tuple>
#include <vector>

#include "src/coll/op_header.h"
#include "tests/support/test_env.h"
#include "tests/unit/coll/exact_values.h"
#include "tests/unit/coll/ring_cluster.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using reduce::DType;
using reduce::ReduceOp;

// exact_values.h keeps min and max non-negative (for unsigned dtypes); this
// test reduces only signed dtypes with them, so it shifts them by -50 to cover
// negative values too (the min or max of shifted values is the shifted one).
int64_t shiftOf(ReduceOp op) {
  return op == ReduceOp::kMin || op == ReduceOp::kMax ? 50 : 0;
}

std::vector<uint8_t> fill(DType dtype, ReduceOp op, size_t count, int peer, int world,
                          bool expected) {
  std::vector<uint8_t> buf(count * reduce::dtypeSize(dtype));
  for (size_t i = 0; i < count; ++i) {
    const int64_t v = expected ? exactResult(op, i, world) : exactValue(op, i, peer, world);
    storeValue(dtype, buf, i, v - shiftOf(op));
  }
  return buf;
}

// Runs one all-reduce on every peer and checks every result byte for byte.
void checkAllReduce(RingCluster& cluster, DType dtype, ReduceOp op, size_t count, bool in_place,
                    uint64_t tag) {
  SCOPED_TRACE(std::string(reduce::dtypeName(dtype)) + " " + reduce::opName(op) + " count " +
               std::to_string(count) + (in_place ? " in place" : " out of place"));
  const int n = cluster.size();
  std::vector<std::vector<uint8_t>> send(static_cast<size_t>(n));
  std::vector<std::vector<uint8_t>> recv(static_cast<size_t>(n));
  std::vector<coll::OpInfo> info(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r) {
    send[static_cast<size_t>(r)] = fill(dtype, op, count, r, n, false);
    recv[static_cast<size_t>(r)].assign(send[static_cast<size_t>(r)].size(), 0xEE);
  }
  auto statuses = cluster.runEach([&](int r) {
    auto& s = send[static_cast<size_t>(r)];
    void* out = in_place ? s.data() : recv[static_cast<size_t>(r)].data();
    return cluster.peer(r).allReduce(s.data(), out, count, dtype, op, tag, deadline(20s),
                                     &info[static_cast<size_t>(r)]);
  });
  const auto expected = fill(dtype, op, count, 0, n, true);
  uint64_t sent = 0;
  uint64_t received = 0;
  for (int r = 0; r < n; ++r) {
    const auto i = static_cast<size_t>(r);
    ASSERT_TRUE(statuses[i].isOk()) << "rank " << r << ": " << statuses[i].toString();
    const auto& result = in_place ? send[i] : recv[i];
    auto diff = firstDifference(result, expected);
    ASSERT_FALSE(diff.has_value()) << "rank " << r << " differs at byte " << *diff;
    if (!in_place) {
      EXPECT_EQ(send[i], fill(dtype, op, count, r, n, false)) << "sendbuf was modified";
    }
    EXPECT_EQ(info[i].world_size, static_cast<uint32_t>(n));
    sent += info[i].bytes_sent;
    received += info[i].bytes_received;
  }
  const uint64_t bytes = count * reduce::dtypeSize(dtype);
  uint64_t want = 0;
  if (n > 1 && bytes <= cluster.collOptions().small_allreduce_bytes) {
    // Recursive doubling: p ranks swap header + data in each of log2(p)
    // rounds; each extra rank sends its data in and gets the result back.
    uint64_t p = 1;
    uint64_t rounds = 0;
    while (p * 2 <= uint64_t(n)) {
      p *= 2;
      ++rounds;
    }
    want = (p * rounds + 2 * (uint64_t(n) - p)) * (coll::kOpHeaderSize + bytes);
  } else if (n > 1) {
    // The ring: every step moves each segment once; each peer sends two op headers.
    want = uint64_t(n) * 2 * coll::kOpHeaderSize + 2 * uint64_t(n - 1) * bytes;
  }
  EXPECT_EQ(sent, want);
  EXPECT_EQ(received, want);
}

// (world size, recursive doubling rather than the ring for every size)
class AllReduceExact : public ::testing::TestWithParam<std::tuple<int, bool>> {};

TEST_P(AllReduceExact, EveryDtypeOpAndCountIsExactAndIdenticalOnEveryPeer) {
  const auto [n, doubling] = GetParam();
  coll::CollOptions options;
  options.chunk_bytes = 64;  // many chunks: boundaries, pipelining, staging reuse
  options.pipeline_depth = 3;
  options.small_allreduce_bytes = doubling ? SIZE_MAX : 0;
  RingCluster cluster(options);
  cluster.grow(n);
  ASSERT_EQ(cluster.size(), n);
  std::vector<size_t> counts = {1, 7, 1001};
  if (n > 2) counts.push_back(static_cast<size_t>(n - 1));
  uint64_t tag = 1;
  bool in_place = false;
  for (DType dtype :
       {DType::kI32, DType::kI64, DType::kF32, DType::kF64, DType::kF16, DType::kBF16}) {
    for (ReduceOp op :
         {ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kProd, ReduceOp::kMin, ReduceOp::kMax}) {
      for (size_t count : counts) {
        checkAllReduce(cluster, dtype, op, count, in_place, tag++);
        in_place = !in_place;
        if (HasFatalFailure()) return;
      }
    }
  }
  // Unsigned sums of negative values wrap: two's complement, in both placements.
  checkAllReduce(cluster, DType::kU32, ReduceOp::kSum, 333, true, tag++);
  checkAllReduce(cluster, DType::kU32, ReduceOp::kSum, 333, false, tag++);
  // count 0: nothing to do, on every peer.
  auto zero = cluster.runEach([&](int r) {
    return cluster.peer(r).allReduce(nullptr, nullptr, 0, DType::kF32, ReduceOp::kSum, tag,
                                     deadline(5s), nullptr);
  });
  for (const auto& s : zero)
    EXPECT_TRUE(s.isOk()) << s.toString();
}

INSTANTIATE_TEST_SUITE_P(Ring, AllReduceExact,
                         ::testing::Combine(::testing::Values(1, 2, 3, 4),
                                            ::testing::Values(false)),
                         [](const auto& param_info) {
                           return "N" + std::to_string(std::get<0>(param_info.param));
                         });
// Powers of two, and 3, 5, 6: one, one and two extra ranks fold in.
INSTANTIATE_TEST_SUITE_P(RecursiveDoubling, AllReduceExact,
                         ::testing::Combine(::testing::Values(2, 3, 5, 6, 8),
                                            ::testing::Values(true)),
                         [](const auto& param_info) {
                           return "N" + std::to_string(std::get<0>(param_info.param));
                         });

TEST(AllReduceLarge, SixtyFourMebibytesOfF32WithDefaultChunks) {
  RingCluster cluster;  // the default chunks and depths
  cluster.grow(3);
  checkAllReduce(cluster, DType::kF32, ReduceOp::kSum, (64u << 20) / 4 + 5, false, 7);
}

TEST(AllReduceLarge, OddCountAcrossChunkBoundariesWithDepthOne) {
  coll::CollOptions options;
  options.chunk_bytes = 1000;  // not a multiple of the element size
  options.pipeline_depth = 1;
  options.receives_ahead = 1;  // one receive at a time, copying steps too
  RingCluster cluster(options);
  cluster.grow(4);
  checkAllReduce(cluster, DType::kF64, ReduceOp::kSum, 100'003, true, 8);
  checkAllReduce(cluster, DType::kI64, ReduceOp::kProd, 100'003, false, 9);
}

}  // namespace
}  // namespace eccl::test
