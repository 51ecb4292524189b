// Ring broadcast among 1, 2, 3 and 5 peers: every root, counts across chunk
// boundaries, every peer ends with the root's bytes, exact byte counts.
#include <gtest/gtest.h>

#include <vector>

#include "src/coll/op_header.h"
#include "src/coll/ring_broadcast.h"
#include "tests/support/test_env.h"
#include "tests/unit/coll/channel_ring.h"
#include "tests/unit/coll/exact_values.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using reduce::DType;

// Broadcasts `count` elements from `root` and checks every peer's bytes and
// the bytes each peer reports.
void checkBroadcast(ChannelRing& ring, const coll::CollOptions& options, DType dtype, size_t count,
                    uint32_t root, uint64_t tag) {
  SCOPED_TRACE(std::string(reduce::dtypeName(dtype)) + " count " + std::to_string(count) +
               " root " + std::to_string(root));
  const int n = ring.size();
  const size_t bytes = count * reduce::dtypeSize(dtype);
  const auto data = pattern(bytes, tag);
  std::vector<std::vector<uint8_t>> buf(static_cast<size_t>(n));
  std::vector<coll::OpInfo> info(static_cast<size_t>(n));
  for (int r = 0; r < n; ++r)
    buf[static_cast<size_t>(r)] =
        r == static_cast<int>(root) ? data : std::vector<uint8_t>(bytes, 0xEE);
  auto statuses = ring.runEach([&](int r) {
    const auto i = static_cast<size_t>(r);
    auto state = coll::OpState::create();
    const coll::BroadcastArgs args{buf[i].data(), count, dtype, root, tag};
    return coll::ringBroadcast(ring.view(r), args, options, Clock::now() + deadline(20s), *state,
                               &info[i]);
  });
  uint64_t sent = 0;
  uint64_t received = 0;
  for (int r = 0; r < n; ++r) {
    const auto i = static_cast<size_t>(r);
    ASSERT_TRUE(statuses[i].isOk()) << "rank " << r << ": " << statuses[i].toString();
    EXPECT_EQ(bytesHash(buf[i]), bytesHash(data)) << "rank " << r;
    auto diff = firstDifference(buf[i], data);
    ASSERT_FALSE(diff.has_value()) << "rank " << r << " differs at byte " << *diff;
    EXPECT_EQ(info[i].world_size, static_cast<uint32_t>(n));
    sent += info[i].bytes_sent;
    received += info[i].bytes_received;
  }
  // Each link but the last rank's carries the buffer once; every peer sends two headers.
  const uint64_t want =
      n == 1 || count == 0 ? 0 : uint64_t(n) * 2 * coll::kOpHeaderSize + uint64_t(n - 1) * bytes;
  EXPECT_EQ(sent, want);
  EXPECT_EQ(received, want);
}

class BroadcastExact : public ::testing::TestWithParam<int> {};

TEST_P(BroadcastExact, EveryRootAndCountGivesEveryPeerTheRootsBytes) {
  const int n = GetParam();
  coll::CollOptions options;
  options.chunk_bytes = 64;  // many chunks: forwarding chunk by chunk, pipelining
  options.pipeline_depth = 3;
  ChannelRing ring(n);
  ASSERT_TRUE(ring.ok());
  uint64_t tag = 1;
  for (uint32_t root = 0; root < static_cast<uint32_t>(n); ++root) {
    for (DType dtype : {DType::kF32, DType::kF16, DType::kI64, DType::kU8}) {
      for (size_t count : {size_t{0}, size_t{1}, size_t{7}, size_t{1001}}) {
        checkBroadcast(ring, options, dtype, count, root, tag++);
        if (HasFatalFailure()) return;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(World, BroadcastExact, ::testing::Values(1, 2, 3, 5),
                         [](const auto& param_info) {
                           std::string name = "N";
                           return name += std::to_string(param_info.param);
                         });

TEST(BroadcastLarge, SixteenMebibytesWithDefaultChunksFromAMiddleRoot) {
  ChannelRing ring(4);
  ASSERT_TRUE(ring.ok());
  checkBroadcast(ring, coll::CollOptions{}, DType::kF32, (16u << 20) / 4 + 3, 2, 5);
}

TEST(BroadcastLarge, DepthOneAndAChunkSizeThatIsNoMultipleOfTheElement) {
  coll::CollOptions options;
  options.chunk_bytes = 1000;
  options.pipeline_depth = 1;
  options.receives_ahead = 1;  // one receive at a time, copying steps too
  ChannelRing ring(3);
  ASSERT_TRUE(ring.ok());
  checkBroadcast(ring, options, DType::kF64, 100'003, 1, 6);
}

}  // namespace
}  // namespace eccl::test
