// The pacing bucket of streams the kernel cannot pace (transport/token_bucket.h),
// on explicit time points: what a capped stream may send when.
#include "transport/token_bucket.h"

#include <gtest/gtest.h>

namespace eccl::transport {
namespace {

using namespace std::chrono_literals;
using Clock = TokenBucket::Clock;

TEST(TokenBucket, ACapStartsEmptyAndFillsAtItsRate) {
  TokenBucket bucket;
  const Clock::time_point t0{};
  EXPECT_FALSE(bucket.capped());
  bucket.setRate(1'000'000, t0);
  EXPECT_TRUE(bucket.capped());
  EXPECT_EQ(bucket.allowance(t0), 0u) << "the first write after a cap waits";
  EXPECT_EQ(bucket.allowance(t0 + 5ms), 5000u);
  bucket.spend(5000);
  EXPECT_EQ(bucket.allowance(t0 + 5ms), 0u);
  EXPECT_EQ(bucket.allowance(t0 + 7ms), 2000u);
}

TEST(TokenBucket, AnIdleBucketHoldsOneBurstAtMost) {
  TokenBucket slow, fast;
  const Clock::time_point t0{};
  slow.setRate(1'000'000, t0);
  EXPECT_EQ(slow.allowance(t0 + 10s), 16u * 1024) << "at least 16 KiB";
  fast.setRate(100'000'000, t0);
  EXPECT_EQ(fast.allowance(t0 + 10s), 1'000'000u) << "10 ms of the rate";
}

TEST(TokenBucket, ChangingTheRateKeepsTheTokensAndLiftingItUncaps) {
  TokenBucket bucket;
  const Clock::time_point t0{};
  bucket.setRate(1'000'000, t0);
  EXPECT_EQ(bucket.allowance(t0 + 4ms), 4000u);
  bucket.setRate(2'000'000, t0 + 4ms);
  EXPECT_EQ(bucket.allowance(t0 + 5ms), 6000u);
  bucket.setRate(0, t0 + 5ms);
  EXPECT_FALSE(bucket.capped());
}

TEST(TokenBucket, AWriterWritesOnlyOnceAUsefulWriteMayGo) {
  TokenBucket bucket;
  const Clock::time_point t0{};
  bucket.setRate(1'000'000, t0);
  EXPECT_FALSE(bucket.usefulWriteAllowed(t0 + 4095us)) << "a few bytes are not worth a write";
  EXPECT_TRUE(bucket.usefulWriteAllowed(t0 + 4097us));
}

TEST(TokenBucket, AWriteGetsAllItWantsOrAUsefulPieceNeverADribble) {
  TokenBucket bucket;
  const Clock::time_point t0{};
  bucket.setRate(1'000'000, t0);
  EXPECT_EQ(bucket.grant(t0 + 100us, 1 << 20), 0u) << "100 bytes of a large write wait";
  EXPECT_EQ(bucket.grant(t0 + 100us, 64), 64u) << "a small write goes whole";
  EXPECT_EQ(bucket.grant(t0 + 5ms, 1 << 20), 5000u) << "every token (grant spends none)";
}

TEST(TokenBucket, AWriterSleepsUntilAUsefulWriteMayGo) {
  TokenBucket bucket;
  const Clock::time_point t0{};
  bucket.setRate(1'000'000, t0);
  bucket.allowance(t0);
  const double wait_us =
      std::chrono::duration<double, std::micro>(bucket.untilUsefulWrite()).count();
  EXPECT_NEAR(wait_us, 4096, 1) << "4 KiB at 1 MB/s";
  bucket.allowance(t0 + 10ms);  // 10000 tokens: more than 4 KiB already
  EXPECT_EQ(bucket.untilUsefulWrite(), Clock::duration(100us)) << "never a busy loop";
}

}  // namespace
}  // namespace eccl::transport
