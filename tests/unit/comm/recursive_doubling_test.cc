// The small all-reduce's schedule (recursive_doubling.h): for every world
// size, each exchange is seen the same way by both partners, and every rank
// ends up with every rank's data.
#include "src/comm/recursive_doubling.h"

#include <gtest/gtest.h>

#include <set>
#include <vector>

namespace eccl::comm {
namespace {

TEST(RecursiveDoublingPlan, PartnersAgreeOnEveryExchange) {
  for (uint32_t n = 2; n <= 70; ++n) {
    SCOPED_TRACE("N = " + std::to_string(n));
    for (uint32_t r = 0; r < n; ++r) {
      for (const Exchange& x : recursiveDoublingPlan(n, r)) {
        ASSERT_LT(x.partner, n);
        ASSERT_NE(x.partner, r);
        bool found = false;
        for (const Exchange& y : recursiveDoublingPlan(n, x.partner)) {
          if (y.id != x.id || y.partner != r) continue;
          found = true;
          EXPECT_EQ(y.send, x.recv);
          EXPECT_EQ(y.recv, x.send);
        }
        EXPECT_TRUE(found) << "rank " << r << " exchange " << x.id;
      }
    }
  }
}

// Simulates the schedule on sets of contributions: every rank must end with all.
TEST(RecursiveDoublingPlan, EveryRankEndsWithEveryContribution) {
  for (uint32_t n = 2; n <= 70; ++n) {
    SCOPED_TRACE("N = " + std::to_string(n));
    std::vector<std::set<uint32_t>> have(n);
    for (uint32_t r = 0; r < n; ++r)
      have[r] = {r};
    uint32_t last_id = 0;
    for (uint32_t r = 0; r < n; ++r) {
      for (const Exchange& x : recursiveDoublingPlan(n, r))
        last_id = std::max(last_id, x.id);
    }
    // Exchanges run in id order; within one id every pair is disjoint.
    for (uint32_t id = 0; id <= last_id; ++id) {
      std::vector<std::set<uint32_t>> next = have;
      for (uint32_t r = 0; r < n; ++r) {
        for (const Exchange& x : recursiveDoublingPlan(n, r)) {
          if (x.id != id || !x.recv) continue;
          if (x.reduce) {
            next[r].insert(have[x.partner].begin(), have[x.partner].end());
          } else {
            next[r] = have[x.partner];
          }
        }
      }
      have = next;
    }
    for (uint32_t r = 0; r < n; ++r)
      EXPECT_EQ(have[r].size(), n) << "rank " << r;
  }
}

TEST(RecursiveDoublingPlan, APowerOfTwoTakesLog2Exchanges) {
  EXPECT_EQ(recursiveDoublingPlan(2, 0).size(), 1u);
  EXPECT_EQ(recursiveDoublingPlan(8, 5).size(), 3u);
  EXPECT_EQ(recursiveDoublingPlan(1024, 77).size(), 10u);
  // 5 = 4 + 1: rank 0 folds rank 4 in, doubles twice, and serves it.
  EXPECT_EQ(recursiveDoublingPlan(5, 0).size(), 4u);
  EXPECT_EQ(recursiveDoublingPlan(5, 4).size(), 2u);
  EXPECT_EQ(recursiveDoublingPlan(5, 1).size(), 2u);
}

}  // namespace
}  // namespace eccl::comm
