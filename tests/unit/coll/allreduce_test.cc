// Ring all-reduce among 1..4 in-process communicators: exact results for every
// dtype and op, odd counts, chunk boundaries, in place and out of place, and
// identical bytes on every peer.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "src/coll/op_header.h"
#include "tests/support/test_env.h"
#include "tests/unit/coll/ring_cluster.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using reduce::DType;
using reduce::ReduceOp;

// Small integers, exact in every dtype (f16 and bf16 included).
int64_t valueOf(ReduceOp op, size_t i, int peer, int world) {
  switch (op) {
    case ReduceOp::kProd: {
      // No zero: a float product with a negative factor would be -0.
      static constexpr int64_t kFactors[] = {-2, -1, 1, 2};
      return kFactors[(i + 2 * static_cast<size_t>(peer)) % 4];
    }
    case ReduceOp::kMin:
    case ReduceOp::kMax:
      return static_cast<int64_t>((i * 11 + static_cast<size_t>(peer) * 29) % 101) - 50;
    case ReduceOp::kAvg: {
      // Offsets that sum to zero: the average is the base, exactly.
      const int64_t base = static_cast<int64_t>(i * 5 % 21) - 10;
      return base + 2 * peer - (world - 1);
    }
    case ReduceOp::kSum:
      break;
  }
  return static_cast<int64_t>((i * 7 + static_cast<size_t>(peer) * 13) % 17) - 8;
}

int64_t expectedOf(ReduceOp op, size_t i, int world) {
  int64_t acc = valueOf(op, i, 0, world);
  for (int p = 1; p < world; ++p) {
    const int64_t v = valueOf(op, i, p, world);
    switch (op) {
      case ReduceOp::kSum:
      case ReduceOp::kAvg:
        acc += v;
        break;
      case ReduceOp::kProd:
        acc *= v;
        break;
      case ReduceOp::kMin:
        acc = std::min(acc, v);
        break;
      case ReduceOp::kMax:
        acc = std::max(acc, v);
        break;
    }
  }
  return op == ReduceOp::kAvg ? acc / world : acc;
}

uint32_t floatBits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, sizeof(bits));
  return bits;
}

// Binary16 bits of a small integer (normal or zero: exact).
uint16_t halfOf(int64_t v) {
  if (v == 0) return 0;
  const uint32_t f = floatBits(static_cast<float>(v));
  const uint32_t sign = (f >> 16) & 0x8000u;
  const uint32_t exponent = ((f >> 23) & 0xFFu) - 127 + 15;
  return static_cast<uint16_t>(sign | (exponent << 10) | ((f >> 13) & 0x3FFu));
}

void store(DType dtype, std::vector<uint8_t>& buf, size_t i, int64_t v) {
  auto put = [&](auto x) { std::memcpy(buf.data() + i * sizeof(x), &x, sizeof(x)); };
  switch (dtype) {
    case DType::kI32:
      return put(static_cast<int32_t>(v));
    case DType::kI64:
      return put(v);
    case DType::kU32:
      return put(static_cast<uint32_t>(v));
    case DType::kF32:
      return put(static_cast<float>(v));
    case DType::kF64:
      return put(static_cast<double>(v));
    case DType::kF16:
      return put(halfOf(v));
    case DType::kBF16:
      return put(static_cast<uint16_t>(floatBits(static_cast<float>(v)) >> 16));
    default:
      FAIL() << "dtype not covered by the test";
  }
}

std::vector<uint8_t> fill(DType dtype, ReduceOp op, size_t count, int peer, int world,
                          bool expected) {
  std::vector<uint8_t> buf(count * reduce::dtypeSize(dtype));
  for (size_t i = 0; i < count; ++i)
    store(dtype, buf, i, expected ? expectedOf(op, i, world) : valueOf(op, i, peer, world));
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
  // Every step moves each segment once; each peer sends two op headers.
  const uint64_t bytes = count * reduce::dtypeSize(dtype);
  const uint64_t want =
      n == 1 ? 0 : uint64_t(n) * 2 * coll::kOpHeaderSize + 2 * uint64_t(n - 1) * bytes;
  EXPECT_EQ(sent, want);
  EXPECT_EQ(received, want);
}

class AllReduceExact : public ::testing::TestWithParam<int> {};

TEST_P(AllReduceExact, EveryDtypeOpAndCountIsExactAndIdenticalOnEveryPeer) {
  const int n = GetParam();
  coll::CollOptions options;
  options.chunk_bytes = 64;  // many chunks: boundaries, pipelining, staging reuse
  options.pipeline_depth = 3;
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

INSTANTIATE_TEST_SUITE_P(World, AllReduceExact, ::testing::Values(1, 2, 3, 4),
                         [](const auto& param_info) {
                           return "N" + std::to_string(param_info.param);
                         });

TEST(AllReduceLarge, SixtyFourMebibytesOfF32WithDefaultChunks) {
  RingCluster cluster;  // 1 MiB chunks, pipeline depth 4
  cluster.grow(3);
  checkAllReduce(cluster, DType::kF32, ReduceOp::kSum, (64u << 20) / 4 + 5, false, 7);
}

TEST(AllReduceLarge, OddCountAcrossChunkBoundariesWithDepthOne) {
  coll::CollOptions options;
  options.chunk_bytes = 1000;  // not a multiple of the element size
  options.pipeline_depth = 1;
  RingCluster cluster(options);
  cluster.grow(4);
  checkAllReduce(cluster, DType::kF64, ReduceOp::kSum, 100'003, true, 8);
  checkAllReduce(cluster, DType::kI64, ReduceOp::kProd, 100'003, false, 9);
}

}  // namespace
}  // namespace eccl::test
