// Helpers shared by tests: scaled deadlines, patterned buffers, waiting on callbacks.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "src/common/status.h"
#include "src/common/thread_sanitizer.h"
#include "src/common/time_scale.h"

namespace eccl::test {

// A deadline stretched by ECCL_TEST_TIME_SCALE (raised under sanitizers).
inline std::chrono::milliseconds deadline(std::chrono::milliseconds base) {
  return scaled(base);
}

// True in a ThreadSanitizer build, where a gibibyte through the data path costs
// a minute: tests that only repeat a race-free copy at scale run once there.
#if defined(ECCL_THREAD_SANITIZER)
inline constexpr bool kThreadSanitizer = true;
#else
inline constexpr bool kThreadSanitizer = false;
#endif

// Bytes that differ per position and per seed, so misplaced or stale chunks show.
std::vector<uint8_t> pattern(size_t size, uint64_t seed);
// Index of the first byte where a and b differ, or nothing.
std::optional<size_t> firstDifference(const std::vector<uint8_t>& a, const std::vector<uint8_t>& b);

// Collects the Status of one asynchronous completion.
// The callback may outlive the Completion (a test that failed early): they share state.
class Completion {
 public:
  Completion();
  // The callback to hand to an asynchronous call.
  std::function<void(Status)> callback();
  // Waits for the callback; nothing if it did not come in time.
  std::optional<Status> wait(std::chrono::milliseconds timeout);
  bool done() const;

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Status> status;
  };
  std::shared_ptr<State> state_;
};

}  // namespace eccl::test
