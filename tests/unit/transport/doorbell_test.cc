// The futex doorbells of shared-memory connections (transport/shm/doorbell.h):
// a ring wakes an armed waiter once, also from another process; a ring that
// came before the arm but after the count was taken is not lost; an armed
// waiter that nobody rings stays asleep without spinning; stop() ends it.
#include "transport/shm/doorbell.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <thread>

#include "tests/support/test_env.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using transport::shm::DoorbellWaiter;
using transport::shm::ringBell;

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

struct Bell {
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  uint32_t word = 0;
  DoorbellWaiter waiter{word, io.get_executor()};
  int rung = 0;
  void arm() {
    waiter.arm(waiter.seen(), [this] { ++rung; });
  }
};

TEST(DoorbellWaiter, ARingWakesAnArmedWaiterOnce) {
  Bell bell;
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
TEST(DoorbellWaiter, ARingBetweenCountAndArmIsNotLost) {
  Bell bell;
  const uint32_t seen = bell.waiter.seen();
  ringBell(bell.word);
  bell.waiter.arm(seen, [&] { ++bell.rung; });
  EXPECT_TRUE(runUntil(
      bell.io, [&] { return bell.rung > 0; }, deadline(5s)));
}

TEST(DoorbellWaiter, AnArmedWaiterNobodyRingsSleepsWithoutSpinning) {
  Bell bell;
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

TEST(DoorbellWaiter, ItCanBeArmedAgainAfterEachRing) {
  Bell bell;
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
TEST(DoorbellWaiter, AnotherProcessRingsThroughSharedMemory) {
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
    DoorbellWaiter waiter(word, io.get_executor());
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

TEST(DoorbellWaiter, StopEndsASleepingWaiterAndNothingIsPosted) {
  Bell bell;
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

}  // namespace
}  // namespace eccl::test
