// Wake-ups between the two processes of a shared-memory connection.
//
// Each side sleeps on a 32-bit word of the segment with futex(2); the other
// side rings it by bumping the word and waking whoever waits there. A
// sleeper takes the word's value (seen()) before it raises its flag and
// checks its conditions (shm_ring.h), and the futex sleeps only while the
// word still holds that value, so a ring that comes after the checks is
// never lost.
//
// The I/O threads never block: a DoorbellWaiter sleeps on a thread of its
// own and posts the wake-up to the connection's executor.
#pragma once

#include <asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace eccl::transport::shm {

// Wakes the process sleeping on `bell`, if any (a shared, not private, futex).
void ringBell(uint32_t& bell);

class DoorbellWaiter {
 public:
  DoorbellWaiter(uint32_t& bell, asio::any_io_executor executor);
  ~DoorbellWaiter();  // stop(), then joins the thread
  DoorbellWaiter(const DoorbellWaiter&) = delete;
  DoorbellWaiter& operator=(const DoorbellWaiter&) = delete;

  // The bell's count now: taken before the caller's last look at its conditions.
  uint32_t seen() const;
  // Posts `rung` to the executor once the count differs from `seen`. While
  // a wait is armed a second arm() is ignored: the first one wakes at the
  // next ring anyway, and its caller re-checks everything.
  void arm(uint32_t seen, std::function<void()> rung);
  // No `rung` is posted once this returns. Idempotent.
  void stop();

 private:
  void sleepUntilStopped();

  uint32_t& bell_;
  asio::any_io_executor executor_;
  std::mutex mutex_;
  bool armed_ = false;
  bool stopping_ = false;
  uint32_t seen_ = 0;
  std::function<void()> rung_;
  std::thread thread_;  // started at the first arm()
};

}  // namespace eccl::transport::shm
