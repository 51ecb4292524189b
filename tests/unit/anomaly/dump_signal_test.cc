// anomaly::dumpOnSignal: every registration's dump runs when the process gets
// the signal, and the process survives it while one is registered.
#include "src/anomaly/dump_signal.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <functional>
#include <thread>

namespace eccl::anomaly {
namespace {

bool waitUntil(const std::function<bool()>& done) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

TEST(DumpOnSignal, RunsEveryRegisteredDump) {
  std::atomic<int> first{0};
  std::atomic<int> second{0};
  auto a = dumpOnSignal(SIGUSR2, [&] { ++first; });
  ASSERT_TRUE(a.isOk()) << a.status().toString();
  auto b = dumpOnSignal(SIGUSR2, [&] { ++second; });
  ASSERT_TRUE(b.isOk()) << b.status().toString();
  ASSERT_EQ(std::raise(SIGUSR2), 0);
  EXPECT_TRUE(waitUntil([&] { return first.load() == 1 && second.load() == 1; }));
  b->reset();  // the other one still answers
  ASSERT_EQ(std::raise(SIGUSR2), 0);
  EXPECT_TRUE(waitUntil([&] { return first.load() == 2; }));
  EXPECT_EQ(second.load(), 1);
  a->reset();
  // Registering again after the last one went starts a fresh watcher.
  std::atomic<int> third{0};
  auto c = dumpOnSignal(SIGUSR2, [&] { ++third; });
  ASSERT_TRUE(c.isOk());
  ASSERT_EQ(std::raise(SIGUSR2), 0);
  EXPECT_TRUE(waitUntil([&] { return third.load() == 1; }));
}

TEST(DumpOnSignal, RefusesSignalsThatCannotBeCaught) {
  for (int signal : {0, -1, SIGKILL, SIGSTOP, NSIG}) {
    auto registration = dumpOnSignal(signal, [] {});
    ASSERT_FALSE(registration.isOk()) << signal;
    EXPECT_EQ(registration.status().code(), Code::kInvalidArgument);
  }
}

}  // namespace
}  // namespace eccl::anomaly
