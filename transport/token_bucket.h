// A send-rate cap for streams whose bytes bypass the kernel's socket pacing
// (shared memory, RDMA): tokens accrue at the rate, up to a burst of 10 ms of
// it (at least 16 KiB), and a write spends what it sends.
#pragma once

#include <chrono>
#include <cstdint>

namespace eccl::transport {

class TokenBucket {
 public:
  using Clock = std::chrono::steady_clock;

  // 0 lifts the cap. A cap set on an uncapped bucket starts it empty, so the
  // first write after it takes a burst at most.
  void setRate(uint64_t bytes_per_s, Clock::time_point now);
  bool capped() const { return bytes_per_s_ != 0; }
  uint64_t rate() const { return bytes_per_s_; }
  // A write worth waking a writer for: below it, a writer waits for tokens
  // instead of spinning through writes of a few bytes.
  static constexpr uint64_t kUsefulWrite = 4096;

  // How many bytes may go now (refills first).
  uint64_t allowance(Clock::time_point now);
  // How many of `wanted` bytes a write may send now: 0 (would block) until
  // all of them or a useful write may go, so that a writer never dribbles.
  uint64_t grant(Clock::time_point now, uint64_t wanted);
  // Whether a writer should write now rather than wait for tokens.
  bool usefulWriteAllowed(Clock::time_point now) { return allowance(now) >= kUsefulWrite; }
  void spend(uint64_t bytes) { tokens_ -= static_cast<double>(bytes); }
  // How long until a useful write may go; at least 100 us.
  Clock::duration untilUsefulWrite() const;

 private:
  uint64_t bytes_per_s_ = 0;
  double tokens_ = 0;
  Clock::time_point refilled_{};
};

}  // namespace eccl::transport
