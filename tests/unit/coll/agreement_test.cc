// Survivors agree on the outcome of an op that fails in the middle: all of them
// succeed with the same result, or all of them return an error. The success
// path needs no master; a broken completion lap asks it (outcome_arbiter.h).
// The fault hook stops or aborts a peer at the exact point where its data is
// complete but its lap has not started, which is where outcomes used to split.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include "tests/support/test_env.h"
#include "tests/unit/coll/peer_threads.h"
#include "tests/unit/coll/ring_cluster.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using reduce::DType;
using reduce::ReduceOp;

// Which peer the hook acts on, and what it does there. The hook compares ids
// only: the victim may be destroyed while the other peers still run ops.
struct Fault {
  std::atomic<comm::Communicator*> victim{nullptr};
  EndpointId victim_id;  // written before `victim`, which publishes it
  std::function<void(comm::Communicator&)> action;
  std::atomic<int> hits{0};
  std::atomic<int> laps_started{0};  // by any peer

  void arm(comm::Communicator& peer) {
    victim_id = peer.peerId();
    victim.store(&peer);
  }
  comm::FaultHook hook() {
    return [this](std::string_view point, const EndpointId& self) {
      if (point == "lap-start") ++laps_started;
      comm::Communicator* target = victim.load();
      if (point != "data-complete" || target == nullptr || self != victim_id) return;
      ++hits;
      action(*target);  // the victim itself runs this op: it is alive
    };
  }
};

// One all-reduce of value = rank + 1 on `rank`; the sum is checked by the caller.
Status sumOn(RingCluster& cluster, int rank, std::vector<int64_t>& data, uint64_t tag,
             std::chrono::milliseconds timeout) {
  std::fill(data.begin(), data.end(), rank + 1);
  return cluster.peer(rank).allReduce(data.data(), data.data(), data.size(), DType::kI64,
                                      ReduceOp::kSum, tag, timeout, nullptr);
}

// The master's count of op reports, once its snapshot (refreshed periodically) has at least
// `least`.
uint64_t opReports(RingCluster& cluster, uint64_t least,
                   std::chrono::milliseconds wait = deadline(3s)) {
  const auto until = Clock::now() + wait;
  uint64_t reports = cluster.masterSnapshot().counters.op_reports;
  while (reports < least && Clock::now() < until) {
    std::this_thread::sleep_for(20ms);
    reports = cluster.masterSnapshot().counters.op_reports;
  }
  return reports;
}

int64_t expectedSum(int n) {
  return int64_t{n} * (n + 1) / 2;
}

TEST(OutcomeAgreement, SuccessNeedsNoMasterRoundTrip) {
  RingCluster cluster;
  cluster.grow(3);
  std::vector<std::vector<int64_t>> data(3, std::vector<int64_t>(100'003));
  for (uint64_t tag = 1; tag <= 3; ++tag) {
    auto statuses = cluster.runEach(
        [&](int r) { return sumOn(cluster, r, data[static_cast<size_t>(r)], tag, deadline(20s)); });
    for (int r = 0; r < 3; ++r) {
      ASSERT_TRUE(statuses[static_cast<size_t>(r)].isOk())
          << statuses[static_cast<size_t>(r)].toString();
      for (int64_t v : data[static_cast<size_t>(r)])
        ASSERT_EQ(v, expectedSum(3));
    }
  }
  EXPECT_EQ(opReports(cluster, 1, 500ms), 0u);  // waits for a snapshot that would show one
}

TEST(OutcomeAgreement, SurvivorsSucceedTogetherWhenAPeerDiesAfterItsDataIsComplete) {
  Fault fault;
  fault.action = [&fault](comm::Communicator& self) {
    // Once the other two have their whole result (else the master's question
    // could find one still running, and the agreed outcome is a failure).
    const auto until = Clock::now() + deadline(20s);
    while (fault.laps_started.load() < 2 && Clock::now() < until)
      std::this_thread::sleep_for(1ms);
    self.abort("test: gone after its data arrived");
  };
  RingCluster cluster({}, fault.hook());
  cluster.grow(3);
  fault.arm(cluster.peer(2));
  std::vector<std::vector<int64_t>> data(3, std::vector<int64_t>(300'001));
  const auto started = Clock::now();
  auto statuses = cluster.runEach(
      [&](int r) { return sumOn(cluster, r, data[static_cast<size_t>(r)], 7, deadline(20s)); });
  EXPECT_LT(Clock::now() - started, deadline(5s));
  EXPECT_EQ(fault.hits.load(), 1);
  // Rank 2's data was complete, so rank 0 (fed by it) and rank 1 had theirs:
  // neither could finish its lap, both asked the master, which asked rank 2.
  for (int r = 0; r < 2; ++r) {
    ASSERT_TRUE(statuses[static_cast<size_t>(r)].isOk())
        << statuses[static_cast<size_t>(r)].toString();
    for (int64_t v : data[static_cast<size_t>(r)])
      ASSERT_EQ(v, expectedSum(3));
  }
  EXPECT_EQ(statuses[2].code(), Code::kAborted) << statuses[2].toString();
  EXPECT_GE(opReports(cluster, 3), 3u);  // two questions, one answer

  cluster.destroy(2);
  cluster.update();
  auto again = cluster.runEach(
      [&](int r) { return sumOn(cluster, r, data[static_cast<size_t>(r)], 7, deadline(20s)); });
  for (int r = 0; r < 2; ++r) {
    ASSERT_TRUE(again[static_cast<size_t>(r)].isOk()) << again[static_cast<size_t>(r)].toString();
    EXPECT_EQ(data[static_cast<size_t>(r)].front(), expectedSum(2));
  }
}

TEST(OutcomeAgreement, SurvivorsFailTogetherWhenOneIsStillRunningWhenTheMasterAsks) {
  std::mutex mu;
  std::condition_variable released_cv;
  bool released = false;
  Fault fault;
  fault.action = [&](comm::Communicator&) {
    // Holds rank 1 between its data and its bookkeeping, as a slow thread would.
    std::unique_lock lock(mu);
    released_cv.wait_for(lock, deadline(30s), [&] { return released; });
  };
  RingCluster cluster({}, fault.hook());
  cluster.grow(3);
  fault.arm(cluster.peer(1));
  std::vector<std::vector<int64_t>> data(3, std::vector<int64_t>(50'000));
  const auto timeout = 1500ms;
  const auto started = Clock::now();
  std::vector<std::future<Status>> results;
  for (int r = 0; r < 3; ++r) {
    results.push_back(std::async(std::launch::async, [&, r] {
      return sumOn(cluster, r, data[static_cast<size_t>(r)], 9, timeout);
    }));
  }
  // Ranks 0 and 2 have their data but cannot finish the lap without rank 1;
  // at their deadline they ask the master, which finds rank 1 not complete.
  const Status rank0 = results[0].get();
  const Status rank2 = results[2].get();
  EXPECT_LT(Clock::now() - started, timeout + deadline(8s));
  {
    std::lock_guard lock(mu);
    released = true;
  }
  released_cv.notify_all();
  const Status rank1 = results[1].get();
  for (const Status* s : {&rank0, &rank2}) {
    EXPECT_EQ(s->code(), Code::kPeerLost) << s->toString();
    EXPECT_TRUE(contains(*s, "failed on every survivor")) << s->toString();
  }
  EXPECT_EQ(rank1.code(), Code::kPeerLost) << rank1.toString();
  EXPECT_TRUE(contains(rank1, "another survivor could not complete this op")) << rank1.toString();

  // The ring recovers at the next update.
  cluster.update();
  auto again = cluster.runEach(
      [&](int r) { return sumOn(cluster, r, data[static_cast<size_t>(r)], 9, deadline(20s)); });
  for (int r = 0; r < 3; ++r) {
    ASSERT_TRUE(again[static_cast<size_t>(r)].isOk()) << again[static_cast<size_t>(r)].toString();
    EXPECT_EQ(data[static_cast<size_t>(r)].back(), expectedSum(3));
  }
}

// Holds one peer at "data-complete" on its first op for `hold`: the others
// finish their data, their laps break at their deadline, and the master's
// question finds the held peer still running, so every peer fails the op.
struct HeldPeer {
  Fault fault;
  explicit HeldPeer(std::chrono::milliseconds hold) {
    fault.action = [hold, this](comm::Communicator&) {
      if (fault.hits.load() == 1) std::this_thread::sleep_for(hold);
    };
  }
};

TEST(AllReduceWithRetry, RetriesAfterAnAgreedFailureWithTheInputRestored) {
  const auto timeout = deadline(2s);
  HeldPeer held(timeout + deadline(1s));
  RingCluster cluster({}, held.fault.hook());
  cluster.grow(3);
  held.fault.arm(cluster.peer(1));
  std::vector<std::vector<int64_t>> data(3, std::vector<int64_t>(40'000));
  std::vector<uint32_t> attempts(3, 0);
  auto statuses = cluster.runEach([&](int r) {
    auto& d = data[static_cast<size_t>(r)];
    std::fill(d.begin(), d.end(), r + 1);
    return cluster.peer(r).allReduceWithRetry(d.data(), d.data(), d.size(), DType::kI64,
                                              ReduceOp::kSum, 4, timeout, 3, nullptr,
                                              &attempts[static_cast<size_t>(r)]);
  });
  for (int r = 0; r < 3; ++r) {
    const auto i = static_cast<size_t>(r);
    ASSERT_TRUE(statuses[i].isOk()) << statuses[i].toString();
    EXPECT_EQ(attempts[i], 2u) << "rank " << r;
    // The first attempt's complete sums were put back to the input before the
    // retry: a second sum over them would be 3 * 6.
    for (int64_t v : data[i])
      ASSERT_EQ(v, expectedSum(3));
  }
}

TEST(AllReduceWithRetry, ErrorsARetryCannotFixReturnAtOnce) {
  RingCluster cluster;
  cluster.grow(2);
  std::vector<uint32_t> attempts(2, 0);
  auto statuses = cluster.runEach([&](int r) {
    std::vector<int64_t> d(r == 0 ? 100 : 99, 1);
    return cluster.peer(r).allReduceWithRetry(d.data(), d.data(), d.size(), DType::kI64,
                                              ReduceOp::kSum, 4, deadline(10s), 5, nullptr,
                                              &attempts[static_cast<size_t>(r)]);
  });
  for (int r = 0; r < 2; ++r) {
    EXPECT_EQ(statuses[static_cast<size_t>(r)].code(), Code::kInvalidUsage)
        << statuses[static_cast<size_t>(r)].toString();
    EXPECT_EQ(attempts[static_cast<size_t>(r)], 1u);
  }
  uint32_t none = 9;
  int64_t x = 0;
  EXPECT_EQ(
      cluster.peer(0)
          .allReduceWithRetry(&x, &x, 1, DType::kI64, ReduceOp::kSum, 4, 1s, 0, nullptr, &none)
          .code(),
      Code::kInvalidArgument);
  EXPECT_EQ(none, 0u);
}

TEST(PreserveInput, AFailedInPlaceAllReduceLeavesTheInputOnEveryPeer) {
  const auto timeout = deadline(1500ms);
  HeldPeer held(timeout + deadline(1s));
  coll::CollOptions options;
  options.preserve_input = true;
  RingCluster cluster(options, held.fault.hook());
  cluster.grow(3);
  held.fault.arm(cluster.peer(1));
  std::vector<std::vector<int64_t>> data(3, std::vector<int64_t>(30'001));
  auto statuses = cluster.runEach([&](int r) {
    auto& d = data[static_cast<size_t>(r)];
    for (size_t i = 0; i < d.size(); ++i)
      d[i] = r * 100'000 + static_cast<int64_t>(i);
    return cluster.peer(r).allReduce(d.data(), d.data(), d.size(), DType::kI64, ReduceOp::kSum, 6,
                                     timeout, nullptr);
  });
  for (int r = 0; r < 3; ++r) {
    const auto i = static_cast<size_t>(r);
    EXPECT_EQ(statuses[i].code(), Code::kPeerLost) << statuses[i].toString();
    for (size_t k = 0; k < data[i].size(); ++k)
      ASSERT_EQ(data[i][k], r * 100'000 + static_cast<int64_t>(k)) << "rank " << r << " at " << k;
  }
}

}  // namespace
}  // namespace eccl::test
