// The futex doorbells of shared-memory connections (transport/shm/doorbell.h):
// a ring wakes an armed waiter once, also from another process; a ring that
// came before the arm but after the count was taken is not lost; an armed
// waiter that nobody rings stays asleep without spinning; stop() ends it.
// Each holds for both sleepers: the process's BellHub and a thread of the
// waiter's own. The hub serves hundreds of waiters on a few threads.
#include "transport/shm/doorbell.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <deque>
#include <memory>
#include <thread>
#include <vector>

#include "tests/support/test_env.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using transport::shm::BellHub;
using transport::shm::DoorbellWaiter;
using transport::shm::ringBell;
using Sleeper = DoorbellWaiter::Sleeper;

// Runs the executor's handlers until `done` holds or `limit` passes.
template <typename Done>
bool runUntil(asio::io_context& io, Done done, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < end) {
    io.restart();
    io.run_for(10ms);
  }
  return done();
}

std::chrono::nanoseconds processCpuTime() {
  timespec now{};
  ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return std::chrono::seconds(now.tv_sec) + std::chrono::nanoseconds(now.tv_nsec);
}

size_t threadsOfThisProcess() {
  size_t count = 0;
  DIR* tasks = ::opendir("/proc/self/task");
  if (tasks == nullptr) return 0;
  while (const dirent* entry = ::readdir(tasks))
    count += entry->d_name[0] != '.';
  ::closedir(tasks);
  return count;
}

// /proc/self/task lists a thread for a moment after join() has returned (the
// kernel clears the tid join waits for before it unhashes the task): a count
// taken right after a join may include it. This one waits until two counts
// 10 ms apart agree.
size_t settledThreadCount() {
  size_t last = threadsOfThisProcess();
  for (int i = 0; i < 500; ++i) {
    std::this_thread::sleep_for(10ms);
    const size_t now = threadsOfThisProcess();
    if (now == last) return now;
    last = now;
  }
  return last;
}

// The count once it is `want`, or the last one after 5 s.
size_t threadCountReaching(size_t want) {
  const auto end = std::chrono::steady_clock::now() + 5s;
  size_t count = threadsOfThisProcess();
  while (count != want && std::chrono::steady_clock::now() < end) {
    std::this_thread::sleep_for(1ms);
    count = threadsOfThisProcess();
  }
  return count;
}

struct Bell {
  explicit Bell(Sleeper sleeper) : waiter(word, io.get_executor(), sleeper) {}
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  uint32_t word = 0;
  DoorbellWaiter waiter;
  int rung = 0;
  void arm() {
    waiter.arm(waiter.seen(), [this] { ++rung; });
  }
};

class DoorbellWaiterTest : public ::testing::TestWithParam<Sleeper> {
 protected:
  void SetUp() override {
    if (GetParam() == Sleeper::kHub && BellHub::instance() == nullptr) {
      GTEST_SKIP() << "this kernel refuses futex_waitv (Linux < 5.16?): no hub to test";
    }
  }
};

TEST_P(DoorbellWaiterTest, ARingWakesAnArmedWaiterOnce) {
  Bell bell(GetParam());
  bell.arm();
  std::thread ringer([&] {
    std::this_thread::sleep_for(20ms);
    ringBell(bell.word);
  });
  EXPECT_TRUE(runUntil(
      bell.io, [&] { return bell.rung > 0; }, deadline(5s)));
  ringer.join();
  runUntil(
      bell.io, [] { return false; }, 100ms);
  EXPECT_EQ(bell.rung, 1);
}

// The sleeper counts, checks its conditions, then arms: a ring in between
// must wake it, or bytes that came then would wait for the next ring.
TEST_P(DoorbellWaiterTest, ARingBetweenCountAndArmIsNotLost) {
  Bell bell(GetParam());
  const uint32_t seen = bell.waiter.seen();
  ringBell(bell.word);
  bell.waiter.arm(seen, [&] { ++bell.rung; });
  EXPECT_TRUE(runUntil(
      bell.io, [&] { return bell.rung > 0; }, deadline(5s)));
}

TEST_P(DoorbellWaiterTest, AnArmedWaiterNobodyRingsSleepsWithoutSpinning) {
  Bell bell(GetParam());
  bell.arm();
  runUntil(
      bell.io, [] { return false; }, 50ms);  // the thread has started and sleeps
  const auto cpu_before = processCpuTime();
  std::this_thread::sleep_for(500ms);
  const auto cpu_spent = processCpuTime() - cpu_before;
  EXPECT_EQ(bell.rung, 0);
  // A spinning thread would spend the whole 500 ms.
  EXPECT_LT(cpu_spent, 100ms) << "the waiter spins while idle";
  ringBell(bell.word);
  EXPECT_TRUE(runUntil(
      bell.io, [&] { return bell.rung > 0; }, deadline(5s)));
}

TEST_P(DoorbellWaiterTest, ItCanBeArmedAgainAfterEachRing) {
  Bell bell(GetParam());
  for (int round = 1; round <= 20; ++round) {
    bell.arm();
    ringBell(bell.word);
    ASSERT_TRUE(runUntil(
        bell.io, [&] { return bell.rung == round; }, deadline(5s)))
        << "round " << round;
  }
}

// The other process of a connection rings through the shared mapping: the
// futex must be a shared one (a private futex never hears the other process).
TEST_P(DoorbellWaiterTest, AnotherProcessRingsThroughSharedMemory) {
  void* page = ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  auto& word = *static_cast<uint32_t*>(page);
  word = 0;
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::usleep(100'000);  // the parent is asleep by then
    ringBell(word);
    ::_exit(0);
  }
  {
    asio::io_context io;
    auto work = asio::make_work_guard(io);
    DoorbellWaiter waiter(word, io.get_executor(), GetParam());
    int rung = 0;
    waiter.arm(0, [&] { ++rung; });
    EXPECT_TRUE(runUntil(
        io, [&] { return rung > 0; }, deadline(5s)));
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  ::munmap(page, 4096);
}

TEST_P(DoorbellWaiterTest, StopEndsASleepingWaiterAndNothingIsPosted) {
  Bell bell(GetParam());
  bell.arm();
  runUntil(
      bell.io, [] { return false; }, 50ms);
  bell.waiter.stop();
  bell.waiter.arm(bell.waiter.seen(), [&] { ++bell.rung; });  // ignored once stopped
  ringBell(bell.word);
  runUntil(
      bell.io, [] { return false; }, 100ms);
  EXPECT_EQ(bell.rung, 0);
}

INSTANTIATE_TEST_SUITE_P(Sleepers, DoorbellWaiterTest,
                         ::testing::Values(Sleeper::kHub, Sleeper::kOwnThread),
                         [](const auto& instance) {  // gtest's macro has an `info` of its own
                           return instance.param == Sleeper::kHub ? "Hub" : "OwnThread";
                         });

// 300 waiters (a rank with 100 shared-memory channels of K = 3) sleep on at
// most three new threads, and every one of them is woken by its own ring.
TEST(BellHub, HundredsOfWaitersShareAFewThreads) {
  BellHub* hub = BellHub::instance();
  if (hub == nullptr) GTEST_SKIP() << "this kernel refuses futex_waitv: no hub";
  std::thread([] {}).join();  // sanitizers start a helper thread with the first one
  const size_t threads_before = settledThreadCount();
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  constexpr int kWaiters = 300;
  std::deque<uint32_t> words(kWaiters, 0);
  std::vector<int> rung(kWaiters, 0);
  std::deque<DoorbellWaiter> waiters;  // leave the hub before their words go
  for (int i = 0; i < kWaiters; ++i) {
    waiters.emplace_back(words[i], io.get_executor(), Sleeper::kHub);
    waiters.back().arm(0, [&rung, i] { ++rung[i]; });
  }
  EXPECT_LE(threadsOfThisProcess(), threads_before + 3);
  for (int i = kWaiters - 1; i >= 0; --i)
    ringBell(words[i]);
  EXPECT_TRUE(runUntil(
      io, [&] { return std::count(rung.begin(), rung.end(), 1) == kWaiters; }, deadline(10s)));
  runUntil(
      io, [] { return false; }, 50ms);
  EXPECT_EQ(std::count(rung.begin(), rung.end(), 1), kWaiters) << "a waiter was posted twice";
}

// The last waiter to leave ends the hub's thread: a process without
// shared-memory connections has no thread of ours (a fork then forks a
// single-threaded process, which ThreadSanitizer insists on).
TEST(BellHub, TheLastWaiterToLeaveEndsItsThread) {
  BellHub* hub = BellHub::instance();
  if (hub == nullptr) GTEST_SKIP() << "this kernel refuses futex_waitv: no hub";
  ASSERT_EQ(hub->threadCount(), 0u) << "a waiter of an earlier test is still in the hub";
  std::thread([] {}).join();
  const size_t threads_before = settledThreadCount();
  {
    Bell bell(Sleeper::kHub);
    EXPECT_EQ(hub->threadCount(), 1u);
    EXPECT_EQ(threadCountReaching(threads_before + 1), threads_before + 1);
    bell.arm();
    ringBell(bell.word);
    EXPECT_TRUE(runUntil(
        bell.io, [&] { return bell.rung == 1; }, deadline(5s)));
  }
  EXPECT_EQ(hub->threadCount(), 0u);
  EXPECT_EQ(threadCountReaching(threads_before), threads_before);
}

// Waiters that leave (and their bells' memory with them) do not disturb the
// others of their thread, and newcomers take the free places.
TEST(BellHub, WaitersComingAndGoingDoNotLoseTheOthersRings) {
  if (BellHub::instance() == nullptr) GTEST_SKIP() << "this kernel refuses futex_waitv: no hub";
  asio::io_context io;
  auto work = asio::make_work_guard(io);
  Bell stayer(Sleeper::kHub);
  for (int round = 1; round <= 50; ++round) {
    auto word = std::make_unique<uint32_t>(0);
    auto passer = std::make_unique<DoorbellWaiter>(*word, io.get_executor(), Sleeper::kHub);
    int passer_rung = 0;
    passer->arm(0, [&] { ++passer_rung; });
    stayer.arm();
    if (round % 2 == 0) {
      ringBell(*word);
      ASSERT_TRUE(runUntil(
          io, [&] { return passer_rung == 1; }, deadline(5s)))
          << "round " << round;
    }
    passer.reset();
    word.reset();  // the hub must not read it again
    ringBell(stayer.word);
    ASSERT_TRUE(runUntil(
        stayer.io, [&] { return stayer.rung == round; }, deadline(5s)))
        << "round " << round;
  }
}

}  // namespace
}  // namespace eccl::test
