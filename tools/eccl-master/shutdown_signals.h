// SIGINT/SIGTERM as a clean-shutdown request, delivered to one thread that
// calls sigwait() instead of to an asynchronous handler: the callback may then
// lock mutexes and stop servers, which a signal handler may not.
#pragma once

#include <atomic>
#include <functional>
#include <thread>

#include "src/common/status.h"

namespace eccl::tools {

// Blocks SIGINT and SIGTERM in the calling thread. Call it in main() before any
// thread starts: threads inherit the mask, so no other thread ever takes them.
Status blockShutdownSignals();

// The thread that waits for SIGINT or SIGTERM and calls on_signal(signal) once.
class ShutdownSignals {
 public:
  explicit ShutdownSignals(std::function<void(int)> on_signal);
  // Without a signal having come, wakes the thread (the callback is not called) and joins it.
  ~ShutdownSignals();
  ShutdownSignals(const ShutdownSignals&) = delete;
  ShutdownSignals& operator=(const ShutdownSignals&) = delete;

  // The signal that came, or 0.
  int received() const { return received_.load(); }

 private:
  std::atomic<bool> closing_{false};
  std::atomic<int> received_{0};
  std::thread thread_;
};

}  // namespace eccl::tools
