// The completion lap on its own, over rings of real loopback channels: every
// rank succeeds when every rank's data is complete, and no rank succeeds while
// one rank has not vouched for its data (not started, or failed from outside),
// wherever that rank sits in the ring.
#include "src/coll/completion_lap.h"

#include <gtest/gtest.h>

#include <vector>

#include "tests/support/test_env.h"
#include "tests/unit/coll/channel_ring.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

Status lapOn(const ChannelRing& ring, int rank, uint64_t tag, std::chrono::milliseconds timeout,
             const std::shared_ptr<coll::OpState>& state = coll::OpState::create()) {
  const coll::RingView& view = ring.view(rank);
  return coll::runCompletionLap(view, coll::OpKey{view.revision, tag, 0}, *state,
                                Clock::now() + timeout, "op " + std::to_string(tag));
}

TEST(CompletionLap, HopsCoverEveryOtherRankHalfwayEachWay) {
  EXPECT_EQ(coll::lapHops(2).forward, 1u);
  EXPECT_EQ(coll::lapHops(2).backward, 0u);
  for (uint32_t n = 2; n <= 64; ++n) {
    const coll::LapHops hops = coll::lapHops(n);
    EXPECT_EQ(hops.forward + hops.backward, n - 1) << n;
    EXPECT_LE(hops.forward - hops.backward, 1u) << n;
  }
}

TEST(CompletionLap, EveryRankSucceedsWhenEveryRankRunsIt) {
  for (int n = 2; n <= 7; ++n) {
    SCOPED_TRACE("N = " + std::to_string(n));
    ChannelRing ring(n);
    ASSERT_TRUE(ring.ok());
    // Several laps in a row on the same channels, as ops do.
    for (uint64_t tag = 1; tag <= 3; ++tag) {
      const auto statuses = ring.runEach([&](int r) { return lapOn(ring, r, tag, deadline(10s)); });
      for (int r = 0; r < n; ++r)
        EXPECT_TRUE(statuses[static_cast<size_t>(r)].isOk())
            << r << ": " << statuses[static_cast<size_t>(r)].toString();
    }
  }
}

// Rank `missing` never vouches for its data: no other rank may succeed.
void expectNobodySucceedsWithout(int n, int missing, bool fail_from_outside) {
  SCOPED_TRACE("N = " + std::to_string(n) + ", rank " + std::to_string(missing) +
               (fail_from_outside ? " failed from outside" : " absent"));
  ChannelRing ring(n);
  ASSERT_TRUE(ring.ok());
  std::vector<int> ranks;
  for (int r = 0; r < n; ++r)
    if (fail_from_outside || r != missing) ranks.push_back(r);
  const auto started = Clock::now();
  const auto statuses = ring.runEach(
      [&](int r) {
        auto state = coll::OpState::create();
        if (r == missing) state->fail(Status(Code::kAborted, "test: aborted"));
        return lapOn(ring, r, 5, 700ms, state);
      },
      ranks);
  EXPECT_LT(Clock::now() - started, deadline(10s));
  for (int r : ranks) {
    const Status& status = statuses[static_cast<size_t>(r)];
    EXPECT_FALSE(status.isOk()) << r << " succeeded";
    if (r == missing) {
      EXPECT_EQ(status.code(), Code::kAborted) << status.toString();
    } else {
      // Its own deadline, or a neighbour whose lap broke closing the channel.
      EXPECT_TRUE(status.code() == Code::kTimeout || status.code() == Code::kPeerLost)
          << r << ": " << status.toString();
    }
  }
}

TEST(CompletionLap, NoRankSucceedsWhileOneHasNotStarted) {
  for (int n : {2, 3, 4, 5})
    for (int missing = 0; missing < n; ++missing)
      expectNobodySucceedsWithout(n, missing, false);
}

TEST(CompletionLap, ARankFailedFromOutsideBeforeItStartsVouchesForNoOne) {
  for (int missing = 0; missing < 4; ++missing)
    expectNobodySucceedsWithout(4, missing, true);
}

TEST(CompletionLap, AnIsolatedNeighbourEndsTheLapWithPeerLost) {
  ChannelRing ring(4);
  ASSERT_TRUE(ring.ok());
  ring.isolate(2, "test: rank 2 died");
  const auto started = Clock::now();
  const auto statuses =
      ring.runEach([&](int r) { return lapOn(ring, r, 6, deadline(20s)); }, {0, 1, 3});
  // Ranks 1 and 3 see their channel to rank 2 closed; rank 0, then, sees
  // theirs closed by the laps that broke. Nobody waits for the deadline.
  EXPECT_LT(Clock::now() - started, deadline(10s));
  for (int r : {0, 1, 3}) {
    const Status& status = statuses[static_cast<size_t>(r)];
    EXPECT_EQ(status.code(), Code::kPeerLost) << r << ": " << status.toString();
  }
}

}  // namespace
}  // namespace eccl::test
