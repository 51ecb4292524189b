// Paces a stream whose bytes bypass the kernel's socket pacing (shared
// memory, RDMA): the token bucket that caps its rate, and the timer a writer
// sleeps on until a useful write may go. Time spent asleep counts as the
// link's busy time, as the kernel's pacing does for TCP. On the stream's
// executor, as everything of a ByteStream.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "transport/token_bucket.h"

namespace eccl::transport {

class Pacer {
 public:
  explicit Pacer(asio::any_io_executor executor) : timer_(std::move(executor)) {}

  // 0 lifts the cap. A sleeping writer wakes to re-check at the new rate.
  void setRate(uint64_t bytes_per_s);
  bool capped() const { return bucket_.capped(); }
  uint64_t rate() const { return bucket_.rate(); }
  // TokenBucket::grant and spend, now; all of `wanted`, and nothing spent, when uncapped.
  uint64_t grant(uint64_t wanted);
  void spend(uint64_t bytes) {
    if (capped()) bucket_.spend(bytes);
  }
  // Whether a writer should write now rather than sleep (always when uncapped).
  bool usefulWriteAllowed();
  // Calls `woken` once a useful write may go, or sooner after setRate or
  // cancel; never once this pacer is gone.
  void sleep(std::function<void()> woken);
  void cancel() { timer_.cancel(); }
  std::chrono::nanoseconds slept() const { return slept_; }

 private:
  TokenBucket bucket_;
  asio::steady_timer timer_;
  std::chrono::nanoseconds slept_{0};
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);
};

}  // namespace eccl::transport
