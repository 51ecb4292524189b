// The op queue's scheduling rules, with jobs that block on latches: distinct
// tags run at once, equal tags one after another, an exclusive job alone,
// start order (the sequence) is submission order, and stop() ends what has
// not started.
#include "src/comm/op_queue.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "tests/support/test_env.h"

namespace eccl::comm {
namespace {

using namespace std::chrono_literals;
using test::deadline;

// A gate a job waits at until the test opens it; it records that the job got there.
class Gate {
 public:
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void pass() {
    std::unique_lock lock(mu_);
    arrived_ = true;
    cv_.notify_all();
    cv_.wait(lock, [&] { return open_; });
  }
  bool waitArrived(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return cv_.wait_for(lock, timeout, [&] { return arrived_; });
  }
  bool arrived() {
    std::lock_guard lock(mu_);
    return arrived_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
  bool arrived_ = false;
};

OpQueue::Job gated(Gate& gate, uint64_t* sequence_out = nullptr) {
  return [&gate, sequence_out](coll::OpInfo*, uint64_t sequence) {
    if (sequence_out != nullptr) *sequence_out = sequence;
    gate.pass();
    return Status::ok();
  };
}

TEST(OpQueue, DistinctTagsRunAtOnceEqualTagsWait) {
  OpQueue queue(4);
  Gate first, other_tag, same_tag;
  auto a = queue.submit(gated(first), {.tag = 1});
  auto b = queue.submit(gated(other_tag), {.tag = 2});
  auto c = queue.submit(gated(same_tag), {.tag = 1});
  ASSERT_TRUE(first.waitArrived(deadline(5s)));
  ASSERT_TRUE(other_tag.waitArrived(deadline(5s))) << "tag 2 did not run beside tag 1";
  other_tag.open();
  EXPECT_TRUE(b->waitFor(deadline(5s)));
  EXPECT_FALSE(a->done());
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(same_tag.arrived()) << "a second op with tag 1 overlapped the first";
  first.open();
  ASSERT_TRUE(same_tag.waitArrived(deadline(5s)));
  same_tag.open();
  EXPECT_TRUE(c->waitFor(deadline(5s)));
  EXPECT_TRUE(a->status().isOk());
}

TEST(OpQueue, AnExclusiveJobRunsAloneAndHoldsBackLaterOnes) {
  OpQueue queue(4);
  Gate before, exclusive, after;
  auto a = queue.submit(gated(before), {.tag = 1});
  auto update = queue.submit(gated(exclusive), {.exclusive = true});
  auto b = queue.submit(gated(after), {.tag = 2});
  ASSERT_TRUE(before.waitArrived(deadline(5s)));
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(exclusive.arrived()) << "the exclusive job overlapped a running op";
  EXPECT_FALSE(after.arrived()) << "a later op overtook the exclusive job";
  before.open();
  ASSERT_TRUE(exclusive.waitArrived(deadline(5s)));
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(after.arrived()) << "a later op overlapped the exclusive job";
  exclusive.open();
  ASSERT_TRUE(after.waitArrived(deadline(5s)));
  after.open();
  EXPECT_TRUE(b->waitFor(deadline(5s)));
  EXPECT_TRUE(update->done());
}

TEST(OpQueue, SequencesFollowSubmissionAndTheLimitHolds) {
  OpQueue queue(2);
  Gate g0, g1, g2;
  uint64_t s0 = 99, s1 = 99, s2 = 99;
  auto r0 = queue.submit(gated(g0, &s0), {.tag = 10});
  auto r1 = queue.submit(gated(g1, &s1), {.tag = 11});
  auto r2 = queue.submit(gated(g2, &s2), {.tag = 12});
  ASSERT_TRUE(g0.waitArrived(deadline(5s)));
  ASSERT_TRUE(g1.waitArrived(deadline(5s)));
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(g2.arrived()) << "more than max_in_flight jobs ran";
  EXPECT_EQ(queue.outstanding(), 3u);
  g0.open();
  ASSERT_TRUE(g2.waitArrived(deadline(5s)));
  g1.open();
  g2.open();
  EXPECT_TRUE(r2->waitFor(deadline(5s)));
  EXPECT_EQ(s0, 0u);
  EXPECT_EQ(s1, 1u);
  EXPECT_EQ(s2, 2u);
}

TEST(OpQueue, StopEndsWhatHasNotStarted) {
  OpQueue queue(1);
  Gate running;
  auto a = queue.submit(gated(running), {.tag = 1});
  auto queued = queue.submit([](coll::OpInfo*, uint64_t) { return Status::ok(); }, {.tag = 2});
  ASSERT_TRUE(running.waitArrived(deadline(5s)));
  std::thread opener([&] {
    std::this_thread::sleep_for(100ms);
    running.open();  // stop() waits for the running job
  });
  queue.stop(abortedError("test"));
  opener.join();
  EXPECT_TRUE(a->status().isOk());
  EXPECT_EQ(queued->status().code(), Code::kAborted);
  auto late = queue.submit([](coll::OpInfo*, uint64_t) { return Status::ok(); });
  EXPECT_EQ(late->status().code(), Code::kAborted);
}

}  // namespace
}  // namespace eccl::comm
