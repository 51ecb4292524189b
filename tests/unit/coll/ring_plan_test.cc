#include "src/coll/ring_plan.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

#include "src/coll/coll_options.h"
#include "src/coll/op_key.h"

namespace eccl::coll {
namespace {

TEST(RingPlan, SegmentsPartitionTheBufferAndDifferByAtMostOne) {
  for (uint32_t n : {1u, 2u, 3u, 5u, 8u}) {
    for (size_t count : {size_t{1}, size_t{7}, size_t{n - 1}, size_t{1001}}) {
      auto plan = RingPlan::allReduce(n, 0, count, 10);
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
      auto plan = RingPlan::allReduce(n, r, 100, 3);
      ASSERT_TRUE(plan);
      ASSERT_EQ(plan->steps(), 2 * (n - 1));
      EXPECT_EQ(plan->sendSegment(0), r);  // its own data first
      for (uint32_t t = 0; t + 1 < plan->steps(); ++t)
        EXPECT_EQ(plan->sendSegment(t + 1), plan->recvSegment(t)) << "n " << n << " step " << t;
      // Rank r owns segment r + 1 and sends it first in the all-gather.
      EXPECT_EQ(plan->sendSegment(n - 1), (r + 1) % n);
      // What r sends at a step is what r + 1 receives at it.
      auto next = RingPlan::allReduce(n, (r + 1) % n, 100, 3);
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

// Every chunk a rank sends on its link to the next has its own index, and the
// next rank receives it under the same index.
void expectLinksAgree(const std::vector<RingPlan>& plans) {
  const auto n = static_cast<uint32_t>(plans.size());
  for (uint32_t r = 0; r < n; ++r) {
    const RingPlan& sender = plans[r];
    const RingPlan& receiver = plans[(r + 1) % n];
    std::vector<std::pair<uint32_t, Span>> sent;
    std::vector<std::pair<uint32_t, Span>> received;
    std::set<uint32_t> seen;
    for (uint32_t t = 0; t < sender.steps(); ++t) {
      for (uint32_t c = 0; c < sender.sendChunks(t); ++c) {
        const uint32_t index = sender.sendIndex(t, c);
        EXPECT_GE(index, kFirstDataIndex);
        EXPECT_LT(index, kMaxMessagesPerOp);
        EXPECT_TRUE(seen.insert(index).second) << "rank " << r << " step " << t << " chunk " << c;
        sent.emplace_back(index, sender.chunk(sender.sendSegment(t), c));
      }
    }
    for (uint32_t t = 0; t < receiver.steps(); ++t) {
      for (uint32_t c = 0; c < receiver.recvChunks(t); ++c)
        received.emplace_back(receiver.recvIndex(t, c), receiver.chunk(receiver.recvSegment(t), c));
    }
    ASSERT_EQ(sent.size(), received.size()) << "link " << r;
    for (size_t i = 0; i < sent.size(); ++i) {
      EXPECT_EQ(sent[i].first, received[i].first) << "link " << r << " message " << i;
      EXPECT_EQ(sent[i].second.offset, received[i].second.offset);
      EXPECT_EQ(sent[i].second.count, received[i].second.count);
    }
  }
}

TEST(RingPlan, MessageIndexesAreDistinctPerLinkAndAgreeOnBothEnds) {
  std::vector<RingPlan> plans;
  for (uint32_t r = 0; r < 4; ++r)
    plans.push_back(*RingPlan::allReduce(4, r, 1000, 7));
  expectLinksAgree(plans);
}

TEST(RingPlan, UnevenBlocksAgreeOnEveryLink) {
  const std::vector<size_t> counts = {5, 0, 17, 3, 0};
  for (int kind = 0; kind < 2; ++kind) {
    std::vector<RingPlan> plans;
    for (uint32_t r = 0; r < 5; ++r) {
      auto plan = kind == 0 ? RingPlan::reduceScatter(5, r, counts, 4)
                            : RingPlan::allGather(5, r, counts, 4);
      ASSERT_TRUE(plan) << plan.status().toString();
      ASSERT_EQ(plan->steps(), 4u);
      EXPECT_EQ(plan->count(), 25u);
      plans.push_back(std::move(*plan));
    }
    expectLinksAgree(plans);
  }
}

TEST(RingPlan, BroadcastIsAChainFromTheRoot) {
  for (uint32_t n : {1u, 2u, 3u, 5u}) {
    for (uint32_t root = 0; root < n; ++root) {
      std::vector<RingPlan> plans;
      for (uint32_t r = 0; r < n; ++r) {
        auto plan = RingPlan::broadcast(n, r, root, 10, 3);
        ASSERT_TRUE(plan);
        const uint32_t hops = (r + n - root) % n;
        // The root only sends, the last rank only receives, the others both.
        uint64_t sends = 0;
        uint64_t recvs = 0;
        for (uint32_t t = 0; t < plan->steps(); ++t) {
          sends += plan->sendChunks(t);
          recvs += plan->recvChunks(t);
        }
        EXPECT_EQ(sends, n > 1 && hops + 1 < n ? 4u : 0u) << "n " << n << " rank " << r;
        EXPECT_EQ(recvs, n > 1 && hops > 0 ? 4u : 0u) << "n " << n << " rank " << r;
        if (hops > 0 && hops + 1 < n) {
          ASSERT_EQ(plan->steps(), 2u);  // receive, then forward what arrived
          EXPECT_EQ(plan->sendSegment(1), plan->recvSegment(0));
        }
        plans.push_back(std::move(*plan));
      }
      // The last rank's link (to the root) carries nothing on either end.
      expectLinksAgree(plans);
    }
  }
  EXPECT_FALSE(RingPlan::broadcast(3, 0, 3, 10, 3));
}

TEST(RingPlan, ReduceScatterEndsWithEachRankOwningItsBlock) {
  for (uint32_t n : {2u, 3u, 5u}) {
    std::vector<size_t> counts(n);
    for (uint32_t r = 0; r < n; ++r)
      counts[r] = r * 3 + 1;
    for (uint32_t r = 0; r < n; ++r) {
      auto plan = RingPlan::reduceScatter(n, r, counts, 2);
      ASSERT_TRUE(plan);
      ASSERT_EQ(plan->steps(), n - 1);
      EXPECT_EQ(plan->sendSegment(0), (r + n - 1) % n);  // its own data of another block
      EXPECT_EQ(plan->recvSegment(n - 2), r);            // the last step completes its block
      EXPECT_TRUE(plan->isLastReduce(n - 2));
      for (uint32_t t = 0; t + 1 < plan->steps(); ++t) {
        EXPECT_EQ(plan->sendSegment(t + 1), plan->recvSegment(t));
        EXPECT_FALSE(plan->isLastReduce(t));
      }
      EXPECT_EQ(plan->segment(r).count, counts[r]);
    }
  }
}

TEST(RingPlan, AllGatherStartsWithTheOwnBlock) {
  const std::vector<size_t> counts = {4, 0, 9};
  for (uint32_t r = 0; r < 3; ++r) {
    auto plan = RingPlan::allGather(3, r, counts, 2);
    ASSERT_TRUE(plan);
    EXPECT_EQ(plan->sendSegment(0), r);
    std::set<uint32_t> gathered;
    for (uint32_t t = 0; t < plan->steps(); ++t) {
      EXPECT_FALSE(plan->isReduceScatter(t));
      gathered.insert(plan->recvSegment(t));
    }
    EXPECT_EQ(gathered.size(), 2u);
    EXPECT_EQ(gathered.count(r), 0u);
  }
}

TEST(RingPlan, OpsNeedingTooManyMessagesAreRejected) {
  // 2 peers, 2 steps: 32767 chunks per segment fit, 32768 do not.
  EXPECT_TRUE(RingPlan::allReduce(2, 0, 2 * 32767, 1));
  auto plan = RingPlan::allReduce(2, 0, 2 * 32768, 1);
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.status().code(), Code::kInvalidArgument);

  // Broadcast: one pass of the buffer per link.
  EXPECT_TRUE(RingPlan::broadcast(3, 1, 0, 65534, 1));
  EXPECT_EQ(RingPlan::broadcast(3, 1, 0, 65535, 1).status().code(), Code::kInvalidArgument);
  // Uneven blocks: the busiest link decides, the same verdict on every rank
  // (here link 0 -> 1 carries block 0 and block 2 of the all-gather).
  const std::vector<size_t> fits = {32767, 0, 32767};
  const std::vector<size_t> too_many = {32767, 0, 32768};
  for (uint32_t r = 0; r < 3; ++r) {
    EXPECT_TRUE(RingPlan::allGather(3, r, fits, 1)) << r;
    EXPECT_EQ(RingPlan::allGather(3, r, too_many, 1).status().code(), Code::kInvalidArgument) << r;
    // Reduce-scatter: link r -> r+1 carries every block but r.
    EXPECT_TRUE(RingPlan::reduceScatter(3, r, fits, 1)) << r;
    EXPECT_EQ(RingPlan::reduceScatter(3, r, too_many, 1).status().code(), Code::kInvalidArgument)
        << r;
  }
}

TEST(CollOptions, ReceivesAheadAreAtLeastThePipelineDepth) {
  CollOptions options;
  EXPECT_TRUE(options.validate().isOk());
  options.receives_ahead = options.pipeline_depth;
  EXPECT_TRUE(options.validate().isOk());
  options.receives_ahead = options.pipeline_depth - 1;
  Status fewer = options.validate();
  EXPECT_EQ(fewer.code(), Code::kInvalidArgument);
  EXPECT_NE(fewer.message().find("receives_ahead"), std::string::npos) << fewer.toString();
  options.receives_ahead = 4097;
  EXPECT_EQ(options.validate().code(), Code::kInvalidArgument);
}

}  // namespace
}  // namespace eccl::coll
