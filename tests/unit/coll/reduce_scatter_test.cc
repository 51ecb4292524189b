// Ring reduce-scatter among 1, 2, 3 and 5 peers: exact results for every
// dtype and op, even, uneven and zero counts, chunk boundaries, in place and
// out of place, tiny pipelines (the send slots must not deadlock the ring),
// and one fixed reduction order per block for values that round.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <random>
#include <vector>

#include "src/coll/block_counts.h"
#include "src/coll/op_header.h"
#include "src/coll/ring_reduce_scatter.h"
#include "tests/support/test_env.h"
#include "tests/unit/coll/channel_ring.h"
#include "tests/unit/coll/exact_values.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using reduce::DType;
using reduce::ReduceOp;

struct Outcome {
  std::vector<Status> statuses;
  std::vector<std::vector<uint8_t>> send;
  std::vector<std::vector<uint8_t>> recv;  // in place: the rank's block of send, copied out
  std::vector<coll::OpInfo> info;
};

// Runs one reduce-scatter of the given per-rank send buffers.
Outcome runReduceScatter(ChannelRing& ring, const coll::CollOptions& options, DType dtype,
                         ReduceOp op, const std::vector<size_t>& counts,
                         std::vector<std::vector<uint8_t>> send, bool in_place, uint64_t tag) {
  const int n = ring.size();
  const size_t element = reduce::dtypeSize(dtype);
  Outcome run;
  run.send = std::move(send);
  run.recv.resize(static_cast<size_t>(n));
  run.info.resize(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r)
    run.recv[static_cast<size_t>(r)].assign(counts[static_cast<size_t>(r)] * element, 0xEE);
  run.statuses = ring.runEach([&](int r) {
    const auto i = static_cast<size_t>(r);
    uint8_t* own =
        run.send[i].data() + coll::blockOffset(counts, static_cast<uint32_t>(r)) * element;
    const coll::ReduceScatterArgs args{
        run.send[i].data(), in_place ? own : run.recv[i].data(), counts, dtype, op, tag};
    auto state = coll::OpState::create();
    Status s = coll::ringReduceScatterV(ring.view(r), args, options, Clock::now() + deadline(20s),
                                        *state, &run.info[i]);
    if (in_place) std::copy_n(own, run.recv[i].size(), run.recv[i].begin());
    return s;
  });
  return run;
}

void checkReduceScatter(ChannelRing& ring, const coll::CollOptions& options, DType dtype,
                        ReduceOp op, const std::vector<size_t>& counts, bool in_place,
                        uint64_t tag) {
  std::string trace = std::string(reduce::dtypeName(dtype)) + " " + reduce::opName(op) + " counts";
  for (size_t c : counts)
    trace.append(" ").append(std::to_string(c));
  SCOPED_TRACE(trace + (in_place ? " in place" : " out of place"));
  const int n = ring.size();
  const size_t element = reduce::dtypeSize(dtype);
  const size_t total = std::accumulate(counts.begin(), counts.end(), size_t{0});
  std::vector<std::vector<uint8_t>> send(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r)
    send[static_cast<size_t>(r)] = exactBuffer(dtype, op, 0, total, r, n, false);
  Outcome run = runReduceScatter(ring, options, dtype, op, counts, send, in_place, tag);
  uint64_t sent = 0;
  uint64_t received = 0;
  for (int r = 0; r < n; ++r) {
    const auto i = static_cast<size_t>(r);
    ASSERT_TRUE(run.statuses[i].isOk()) << "rank " << r << ": " << run.statuses[i].toString();
    const size_t offset = coll::blockOffset(counts, static_cast<uint32_t>(r));
    const auto expected = exactBuffer(dtype, op, offset, counts[i], 0, n, true);
    auto diff = firstDifference(run.recv[i], expected);
    ASSERT_FALSE(diff.has_value()) << "rank " << r << " differs at byte " << *diff;
    // Out of place sendbuf stays; in place only the rank's own block changes.
    auto untouched = send[i];
    if (in_place) std::copy(expected.begin(), expected.end(), untouched.begin() + offset * element);
    EXPECT_EQ(run.send[i], untouched) << "rank " << r << ": sendbuf was modified";
    EXPECT_EQ(run.info[i].world_size, static_cast<uint32_t>(n));
    sent += run.info[i].bytes_sent;
    received += run.info[i].bytes_received;
  }
  // Link r -> r+1 carries every block but r's: N-1 copies of the whole.
  const uint64_t want = n == 1 || total == 0 ? 0
                                             : uint64_t(n) * 2 * coll::kOpHeaderSize +
                                                   uint64_t(n - 1) * total * element;
  EXPECT_EQ(sent, want);
  EXPECT_EQ(received, want);
}

std::vector<size_t> firstN(std::vector<size_t> counts, int n) {
  counts.resize(static_cast<size_t>(n));
  return counts;
}

bool isUnsigned(DType d) {
  return d == DType::kU8 || d == DType::kU16 || d == DType::kU32 || d == DType::kU64;
}

class ReduceScatterExact : public ::testing::TestWithParam<int> {};

TEST_P(ReduceScatterExact, EveryDtypeOpAndCountShapeIsExact) {
  const int n = GetParam();
  coll::CollOptions options;
  options.chunk_bytes = 40;  // many chunks; not a multiple of 16- or 64-bit element sizes
  options.pipeline_depth = 2;
  ChannelRing ring(n);
  ASSERT_TRUE(ring.ok());
  const std::vector<std::vector<size_t>> shapes = {
      coll::equalCounts(static_cast<uint32_t>(n), 23),
      firstN({0, 41, 3, 0, 77}, n),
      firstN({1, 0, 0, 0, 0}, n),
  };
  uint64_t tag = 1;
  bool in_place = false;
  for (int d = 0; d < reduce::kNumDTypes; ++d) {
    const auto dtype = static_cast<DType>(d);
    for (ReduceOp op :
         {ReduceOp::kSum, ReduceOp::kMax, ReduceOp::kMin, ReduceOp::kProd, ReduceOp::kAvg}) {
      // An unsigned average of wrapped negative sums is not the signed one.
      if (op == ReduceOp::kAvg && isUnsigned(dtype)) continue;
      for (const auto& counts : shapes) {
        checkReduceScatter(ring, options, dtype, op, counts, in_place, tag++);
        if (HasFatalFailure()) return;
        in_place = !in_place;
      }
    }
  }
  // Nothing to reduce anywhere: no message, on every peer.
  checkReduceScatter(ring, options, DType::kF32, ReduceOp::kSum,
                     coll::equalCounts(static_cast<uint32_t>(n), 0), false, tag++);
}

INSTANTIATE_TEST_SUITE_P(World, ReduceScatterExact, ::testing::Values(1, 2, 3, 5),
                         [](const auto& param_info) {
                           std::string name = "N";
                           return name += std::to_string(param_info.param);
                         });

// Pipelines of one and two chunks with many chunks per step: every send slot
// is taken while the next peer still waits for receive slots.
TEST(ReduceScatterPipeline, TinyPipelinesWithManyChunksPerStepFinish) {
  for (uint32_t depth : {1u, 2u, 5u}) {
    SCOPED_TRACE("depth " + std::to_string(depth));
    coll::CollOptions options;
    options.chunk_bytes = 8;
    options.pipeline_depth = depth;
    ChannelRing ring(5);
    ASSERT_TRUE(ring.ok());
    checkReduceScatter(ring, options, DType::kI32, ReduceOp::kSum, {300, 17, 0, 301, 64}, false,
                       depth);
    checkReduceScatter(ring, options, DType::kF64, ReduceOp::kMax, {128, 128, 128, 128, 128}, true,
                       depth + 100);
  }
}

TEST(ReduceScatterLarge, TwentyFourMebibytesOfF32WithDefaultChunks) {
  ChannelRing ring(3);
  ASSERT_TRUE(ring.ok());
  checkReduceScatter(ring, coll::CollOptions{}, DType::kF32, ReduceOp::kSum,
                     {(8u << 20) / 4 + 1, (8u << 20) / 4, (8u << 20) / 4 - 1}, false, 9);
}

// Values that round: block r must be exactly ((x[r+1] + x[r+2]) + ...) + x[r],
// the ring's order, and the same bits in a second run.
TEST(ReduceScatterOrder, FloatSumsFollowTheRingOrderExactly) {
  const int n = 5;
  coll::CollOptions options;
  options.chunk_bytes = 32;
  options.pipeline_depth = 3;
  ChannelRing ring(n);
  ASSERT_TRUE(ring.ok());
  const std::vector<size_t> counts = {100, 3, 0, 57, 64};
  const size_t total = std::accumulate(counts.begin(), counts.end(), size_t{0});
  std::mt19937 gen(42);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<std::vector<float>> x(n, std::vector<float>(total));
  std::vector<std::vector<uint8_t>> send(n);
  for (int r = 0; r < n; ++r) {
    for (auto& v : x[static_cast<size_t>(r)])
      v = dist(gen) * 1000.0f;
    send[static_cast<size_t>(r)].resize(total * 4);
    std::memcpy(send[static_cast<size_t>(r)].data(), x[static_cast<size_t>(r)].data(), total * 4);
  }
  Outcome first =
      runReduceScatter(ring, options, DType::kF32, ReduceOp::kSum, counts, send, false, 1);
  Outcome second =
      runReduceScatter(ring, options, DType::kF32, ReduceOp::kSum, counts, send, true, 2);
  for (int r = 0; r < n; ++r) {
    const auto i = static_cast<size_t>(r);
    ASSERT_TRUE(first.statuses[i].isOk()) << first.statuses[i].toString();
    ASSERT_TRUE(second.statuses[i].isOk()) << second.statuses[i].toString();
    const size_t offset = coll::blockOffset(counts, static_cast<uint32_t>(r));
    std::vector<float> want(counts[i]);
    for (size_t e = 0; e < counts[i]; ++e) {
      volatile float acc = x[static_cast<size_t>((r + 1) % n)][offset + e];
      for (int k = 2; k <= n; ++k)
        acc = acc + x[static_cast<size_t>((r + k) % n)][offset + e];
      want[e] = acc;
    }
    std::vector<uint8_t> want_bytes(counts[i] * 4);
    if (!want.empty()) std::memcpy(want_bytes.data(), want.data(), want_bytes.size());
    EXPECT_EQ(first.recv[i], want_bytes) << "rank " << r;
    EXPECT_EQ(bytesHash(second.recv[i]), bytesHash(first.recv[i])) << "rank " << r;
  }
}

}  // namespace
}  // namespace eccl::test
