#include "src/coll/ring_plan.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "src/coll/op_key.h"

namespace eccl::coll {
namespace {

TEST(RingPlan, SegmentsPartitionTheBufferAndDifferByAtMostOne) {
  for (uint32_t n : {1u, 2u, 3u, 5u, 8u}) {
    for (size_t count : {size_t{1}, size_t{7}, size_t{n - 1}, size_t{1001}}) {
      auto plan = RingPlan::make(n, 0, count, 10);
      ASSERT_TRUE(plan);
      size_t next = 0;
      for (uint32_t s = 0; s < n; ++s) {
        const Span seg = plan->segment(s);
        EXPECT_EQ(seg.offset, next);
        EXPECT_LE(seg.count, count / n + 1);
        EXPECT_GE(seg.count, count / n);
        size_t in_chunks = 0;
        for (uint32_t c = 0; c < plan->chunksIn(s); ++c) {
          const Span chunk = plan->chunk(s, c);
          EXPECT_EQ(chunk.offset, seg.offset + in_chunks);
          EXPECT_GT(chunk.count, 0u);
          EXPECT_LE(chunk.count, 10u);
          in_chunks += chunk.count;
        }
        EXPECT_EQ(in_chunks, seg.count);
        next += seg.count;
      }
      EXPECT_EQ(next, count);
    }
  }
}

TEST(RingPlan, EachStepForwardsWhatTheStepBeforeReceived) {
  for (uint32_t n : {2u, 3u, 4u, 7u}) {
    for (uint32_t r = 0; r < n; ++r) {
      auto plan = RingPlan::make(n, r, 100, 3);
      ASSERT_TRUE(plan);
      ASSERT_EQ(plan->steps(), 2 * (n - 1));
      EXPECT_EQ(plan->sendSegment(0), r);  // its own data first
      for (uint32_t t = 0; t + 1 < plan->steps(); ++t)
        EXPECT_EQ(plan->sendSegment(t + 1), plan->recvSegment(t)) << "n " << n << " step " << t;
      // Rank r owns segment r + 1 and sends it first in the all-gather.
      EXPECT_EQ(plan->sendSegment(n - 1), (r + 1) % n);
      // What r sends at a step is what r + 1 receives at it.
      auto next = RingPlan::make(n, (r + 1) % n, 100, 3);
      for (uint32_t t = 0; t < plan->steps(); ++t)
        EXPECT_EQ(plan->sendSegment(t), next->recvSegment(t));
      // The all-gather receives every segment but the owned one, once.
      std::set<uint32_t> gathered;
      for (uint32_t t = n - 1; t < plan->steps(); ++t)
        gathered.insert(plan->recvSegment(t));
      EXPECT_EQ(gathered.size(), n - 1);
      EXPECT_EQ(gathered.count((r + 1) % n), 0u);
    }
  }
}

TEST(RingPlan, MessageIndexesAreDistinctAndFollowTheHeaders) {
  auto plan = RingPlan::make(4, 1, 1000, 7);
  ASSERT_TRUE(plan);
  std::set<uint32_t> seen;
  for (uint32_t t = 0; t < plan->steps(); ++t) {
    for (uint32_t c = 0; c < plan->maxChunks(); ++c) {
      const uint32_t index = plan->messageIndex(t, c);
      EXPECT_GE(index, kFirstDataIndex);
      EXPECT_LT(index, kMaxMessagesPerOp);
      EXPECT_TRUE(seen.insert(index).second);
    }
  }
}

TEST(RingPlan, OpsNeedingTooManyMessagesAreRejected) {
  // 2 peers, 2 steps: 32767 chunks per segment fit, 32768 do not.
  EXPECT_TRUE(RingPlan::make(2, 0, 2 * 32767, 1));
  auto plan = RingPlan::make(2, 0, 2 * 32768, 1);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.status().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace eccl::coll
