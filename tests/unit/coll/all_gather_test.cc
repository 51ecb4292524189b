// Ring all-gather among 1, 2, 3 and 5 peers: even, uneven and zero counts,
// counts across chunk boundaries, in place and out of place; every peer ends
// with the same concatenation, exact byte counts.
#include <gtest/gtest.h>

#include <numeric>
#include <vector>

#include "src/coll/block_counts.h"
#include "src/coll/op_header.h"
#include "src/coll/ring_all_gather.h"
#include "tests/support/test_env.h"
#include "tests/unit/coll/channel_ring.h"
#include "tests/unit/coll/exact_values.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using reduce::DType;

void checkAllGather(ChannelRing& ring, const coll::CollOptions& options, DType dtype,
                    const std::vector<size_t>& counts, bool in_place, uint64_t tag) {
  std::string trace = std::string(reduce::dtypeName(dtype)) + " counts";
  for (size_t c : counts)
    trace.append(" ").append(std::to_string(c));
  SCOPED_TRACE(trace + (in_place ? " in place" : " out of place"));
  const int n = ring.size();
  const size_t element = reduce::dtypeSize(dtype);
  const size_t total = std::accumulate(counts.begin(), counts.end(), size_t{0});
  // The expected result: each rank's block is its own pattern.
  std::vector<std::vector<uint8_t>> blocks(static_cast<size_t>(n));
  std::vector<uint8_t> expected;
  for (int r = 0; r < n; ++r) {
    blocks[static_cast<size_t>(r)] =
        pattern(counts[static_cast<size_t>(r)] * element, tag * 16 + r);
    expected.insert(expected.end(), blocks[static_cast<size_t>(r)].begin(),
                    blocks[static_cast<size_t>(r)].end());
  }
  std::vector<std::vector<uint8_t>> send = blocks;
  std::vector<std::vector<uint8_t>> recv(static_cast<size_t>(n),
                                         std::vector<uint8_t>(total * element, 0xEE));
  std::vector<coll::OpInfo> info(static_cast<size_t>(n));
  auto statuses = ring.runEach([&](int r) {
    const auto i = static_cast<size_t>(r);
    uint8_t* own = recv[i].data() + coll::blockOffset(counts, static_cast<uint32_t>(r)) * element;
    if (in_place) std::copy(send[i].begin(), send[i].end(), own);
    const coll::AllGatherArgs args{in_place ? own : send[i].data(), recv[i].data(), counts, dtype,
                                   tag};
    auto state = coll::OpState::create();
    return coll::ringAllGatherV(ring.view(r), args, options, Clock::now() + deadline(20s), *state,
                                &info[i]);
  });
  uint64_t sent = 0;
  uint64_t received = 0;
  for (int r = 0; r < n; ++r) {
    const auto i = static_cast<size_t>(r);
    ASSERT_TRUE(statuses[i].isOk()) << "rank " << r << ": " << statuses[i].toString();
    EXPECT_EQ(bytesHash(recv[i]), bytesHash(expected)) << "rank " << r;
    auto diff = firstDifference(recv[i], expected);
    ASSERT_FALSE(diff.has_value()) << "rank " << r << " differs at byte " << *diff;
    EXPECT_EQ(send[i], blocks[i]) << "sendbuf was modified";
    sent += info[i].bytes_sent;
    received += info[i].bytes_received;
  }
  // Link r -> r+1 carries every block but r+1's: N-1 copies of the whole.
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

class AllGatherExact : public ::testing::TestWithParam<int> {};

TEST_P(AllGatherExact, EvenUnevenAndZeroCountsGiveEveryPeerTheSameConcatenation) {
  const int n = GetParam();
  coll::CollOptions options;
  options.chunk_bytes = 48;  // not a multiple of every element size; many chunks
  options.pipeline_depth = 3;
  ChannelRing ring(n);
  ASSERT_TRUE(ring.ok());
  const std::vector<std::vector<size_t>> shapes = {
      coll::equalCounts(static_cast<uint32_t>(n), 13),
      coll::equalCounts(static_cast<uint32_t>(n), 1),
      firstN({0, 37, 5, 0, 100}, n),
      firstN({101, 0, 0, 0, 0}, n),
      firstN({0, 0, 0, 0, 3}, n),
      firstN({250, 7, 1, 64, 33}, n),
      coll::equalCounts(static_cast<uint32_t>(n), 0),
  };
  uint64_t tag = 1;
  bool in_place = false;
  for (DType dtype : {DType::kI32, DType::kF64, DType::kU8, DType::kBF16}) {
    for (const auto& counts : shapes) {
      checkAllGather(ring, options, dtype, counts, in_place, tag++);
      if (HasFatalFailure()) return;
      in_place = !in_place;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(World, AllGatherExact, ::testing::Values(1, 2, 3, 5),
                         [](const auto& param_info) {
                           std::string name = "N";
                           return name += std::to_string(param_info.param);
                         });

TEST(AllGatherLarge, EightMebibytesPerPeerWithDefaultChunks) {
  ChannelRing ring(3);
  ASSERT_TRUE(ring.ok());
  checkAllGather(ring, coll::CollOptions{}, DType::kF32, {(8u << 20) / 4, 3, (8u << 20) / 4 + 1},
                 false, 3);
}

TEST(AllGatherLarge, DepthOneInPlace) {
  coll::CollOptions options;
  options.chunk_bytes = 1000;
  options.pipeline_depth = 1;
  options.receives_ahead = 1;  // one receive at a time, copying steps too
  ChannelRing ring(4);
  ASSERT_TRUE(ring.ok());
  checkAllGather(ring, options, DType::kI64, {20'001, 0, 7, 13'000}, true, 4);
}

}  // namespace
}  // namespace eccl::test
