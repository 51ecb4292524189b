// The argument checks of broadcast, all-gather and reduce-scatter: each bad
// argument is named, in-place forms pass, overflow is caught before any
// arithmetic goes wrong.
#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <vector>

#include "src/coll/all_gather_args.h"
#include "src/coll/block_counts.h"
#include "src/coll/broadcast_args.h"
#include "src/coll/reduce_scatter_args.h"

namespace eccl::coll {
namespace {

using reduce::DType;
using reduce::ReduceOp;

bool says(const Status& s, const std::string& what) {
  return s.code() == Code::kInvalidArgument && s.message().find(what) != std::string::npos;
}

TEST(BroadcastArgs, EachBadArgumentIsNamed) {
  std::vector<float> buf(8);
  EXPECT_TRUE(checkBroadcastArgs({buf.data(), 8, DType::kF32, 3, 1}, 4).isOk());
  EXPECT_TRUE(checkBroadcastArgs({nullptr, 0, DType::kF32, 0, 1}, 4).isOk());
  Status s = checkBroadcastArgs({buf.data(), 8, DType::kF32, 4, 1}, 4);
  EXPECT_TRUE(says(s, "root 4")) << s.toString();
  s = checkBroadcastArgs({nullptr, 8, DType::kF32, 0, 1}, 4);
  EXPECT_TRUE(says(s, "buffer is NULL")) << s.toString();
  s = checkBroadcastArgs({buf.data(), 8, static_cast<DType>(77), 0, 1}, 4);
  EXPECT_TRUE(says(s, "dtype")) << s.toString();
  s = checkBroadcastArgs({buf.data(), 8, DType::kF32, 0, uint64_t{1} << 32}, 4);
  EXPECT_TRUE(says(s, "32 bits")) << s.toString();
  s = checkBroadcastArgs({buf.data(), std::numeric_limits<size_t>::max() / 2, DType::kF32, 0, 1},
                         4);
  EXPECT_TRUE(says(s, "overflows")) << s.toString();
}

TEST(AllGatherArgs, EachBadArgumentIsNamedAndInPlaceIsAllowed) {
  const std::vector<size_t> counts = {2, 0, 3};
  std::vector<int32_t> send(3);
  std::vector<int32_t> recv(5);
  EXPECT_TRUE(checkAllGatherArgs({send.data(), recv.data(), counts, DType::kI32, 1}, 3, 2).isOk());
  // In place: this rank's block of recv (2 + 0 elements in).
  EXPECT_TRUE(
      checkAllGatherArgs({recv.data() + 2, recv.data(), counts, DType::kI32, 1}, 3, 2).isOk());
  // A rank with nothing to send may pass NULL.
  EXPECT_TRUE(checkAllGatherArgs({nullptr, recv.data(), counts, DType::kI32, 1}, 3, 1).isOk());
  Status s = checkAllGatherArgs({recv.data() + 1, recv.data(), counts, DType::kI32, 1}, 3, 2);
  EXPECT_TRUE(says(s, "overlaps")) << s.toString();
  s = checkAllGatherArgs({nullptr, recv.data(), counts, DType::kI32, 1}, 3, 2);
  EXPECT_TRUE(says(s, "sendbuf is NULL")) << s.toString();
  s = checkAllGatherArgs({send.data(), nullptr, counts, DType::kI32, 1}, 3, 2);
  EXPECT_TRUE(says(s, "recvbuf is NULL")) << s.toString();
  s = checkAllGatherArgs({send.data(), recv.data(), counts, DType::kI32, 1}, 4, 2);
  EXPECT_TRUE(says(s, "3 counts for a ring of 4 peers")) << s.toString();
  const std::vector<size_t> huge = {std::numeric_limits<size_t>::max(), 1, 0};
  s = checkAllGatherArgs({send.data(), recv.data(), huge, DType::kI32, 1}, 3, 2);
  EXPECT_TRUE(says(s, "overflows")) << s.toString();
  const std::vector<size_t> big = {std::numeric_limits<size_t>::max() / 2, 0, 0};
  s = checkAllGatherArgs({send.data(), recv.data(), big, DType::kI32, 1}, 3, 2);
  EXPECT_TRUE(says(s, "overflows the address space")) << s.toString();
  s = checkAllGatherArgs({send.data(), recv.data(), counts, static_cast<DType>(12), 1}, 3, 2);
  EXPECT_TRUE(says(s, "dtype")) << s.toString();
  // Nothing anywhere: no buffer needed.
  const std::vector<size_t> zeros = {0, 0, 0};
  EXPECT_TRUE(checkAllGatherArgs({nullptr, nullptr, zeros, DType::kI32, 1}, 3, 0).isOk());
}

TEST(ReduceScatterArgs, EachBadArgumentIsNamedAndInPlaceIsAllowed) {
  const std::vector<size_t> counts = {2, 0, 3};
  std::vector<float> send(5);
  std::vector<float> recv(3);
  EXPECT_TRUE(checkReduceScatterArgs(
                  {send.data(), recv.data(), counts, DType::kF32, ReduceOp::kSum, 1}, 3, 2)
                  .isOk());
  EXPECT_TRUE(checkReduceScatterArgs(
                  {send.data(), send.data() + 2, counts, DType::kF32, ReduceOp::kSum, 1}, 3, 2)
                  .isOk());
  // A rank with an empty block may pass a NULL recvbuf.
  EXPECT_TRUE(
      checkReduceScatterArgs({send.data(), nullptr, counts, DType::kF32, ReduceOp::kSum, 1}, 3, 1)
          .isOk());
  Status s = checkReduceScatterArgs(
      {send.data(), send.data() + 1, counts, DType::kF32, ReduceOp::kSum, 1}, 3, 2);
  EXPECT_TRUE(says(s, "overlaps")) << s.toString();
  s = checkReduceScatterArgs({nullptr, recv.data(), counts, DType::kF32, ReduceOp::kSum, 1}, 3, 2);
  EXPECT_TRUE(says(s, "sendbuf is NULL")) << s.toString();
  s = checkReduceScatterArgs({send.data(), nullptr, counts, DType::kF32, ReduceOp::kSum, 1}, 3, 2);
  EXPECT_TRUE(says(s, "recvbuf is NULL")) << s.toString();
  s = checkReduceScatterArgs(
      {send.data(), recv.data(), counts, DType::kF32, static_cast<ReduceOp>(9), 1}, 3, 2);
  EXPECT_TRUE(says(s, "op")) << s.toString();
  s = checkReduceScatterArgs({send.data(), recv.data(), counts, DType::kF32, ReduceOp::kSum, 1}, 2,
                             1);
  EXPECT_TRUE(says(s, "3 counts for a ring of 2 peers")) << s.toString();
  const std::vector<size_t> huge = {std::numeric_limits<size_t>::max() - 1, 2, 0};
  s = checkReduceScatterArgs({send.data(), recv.data(), huge, DType::kF32, ReduceOp::kSum, 1}, 3,
                             2);
  EXPECT_TRUE(says(s, "overflows")) << s.toString();
  s = checkReduceScatterArgs(
      {send.data(), recv.data(), counts, DType::kF32, ReduceOp::kSum, uint64_t{1} << 40}, 3, 2);
  EXPECT_TRUE(says(s, "32 bits")) << s.toString();
}

TEST(BlockCounts, OffsetsArePrefixSums) {
  const std::vector<size_t> counts = {4, 0, 9, 1};
  EXPECT_EQ(blockOffset(counts, 0), 0u);
  EXPECT_EQ(blockOffset(counts, 2), 4u);
  EXPECT_EQ(blockOffset(counts, 3), 13u);
  auto total = checkBlockCounts("x", counts, 4, 8);
  ASSERT_TRUE(total);
  EXPECT_EQ(*total, 14u);
  EXPECT_EQ(equalCounts(3, 5), (std::vector<size_t>{5, 5, 5}));
}

}  // namespace
}  // namespace eccl::coll
