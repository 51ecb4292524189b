// What the swarm's peers report, shared between their I/O threads and the
// thread that runs the phases: counts to wait on, and the first failure.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "src/common/status.h"

namespace eccl::tools::swarm {

using Clock = std::chrono::steady_clock;

struct Progress {
  uint64_t registered = 0;  // Registered frames received
  uint64_t committed = 0;   // TopologyCommit frames received
  uint64_t closed = 0;      // connections ended on purpose (Leave, shutdown)
  uint64_t retries = 0;     // connections dropped before registering, tried again
  uint64_t failures = 0;
  uint32_t heartbeat_ms = 0;  // the interval the master gave (the last Registered)
  std::string first_failure;
  Clock::time_point last_commit{};
};

class Board {
 public:
  // Changes the progress under the lock and wakes the waiters.
  void update(const std::function<void(Progress&)>& change);
  void fail(const std::string& why);
  Progress read() const;

  // Waits until done(progress) holds; an error if a peer failed first or the
  // deadline passed (`what` names the wait).
  Status waitUntil(const std::function<bool(const Progress&)>& done, Clock::time_point deadline,
                   const std::string& what) const;

  // Too frequent for the lock: heartbeat acks, and how late the swarm itself
  // sent heartbeats (its timers fired after their time: the harness lagging).
  std::atomic<uint64_t> acks{0};
  std::atomic<int64_t> max_timer_late_us{0};
  std::atomic<int64_t> max_heartbeat_rtt_us{0};
  static void raise(std::atomic<int64_t>& max, int64_t value) {
    int64_t seen = max.load(std::memory_order_relaxed);
    while (value > seen && !max.compare_exchange_weak(seen, value, std::memory_order_relaxed)) {
    }
  }

 private:
  mutable std::mutex mu_;
  mutable std::condition_variable changed_;
  Progress progress_;
};

}  // namespace eccl::tools::swarm
