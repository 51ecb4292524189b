// Wake-ups between the two processes of a shared-memory connection.
//
// Each side sleeps on a 32-bit word of the segment with futex(2); the other
// side rings it by bumping the word and waking whoever waits there. A
// sleeper takes the word's value (seen()) before it raises its flag and
// checks its conditions (shm_ring.h), and the futex sleeps only while the
// word still holds that value, so a ring that comes after the checks is
// never lost.
//
// The I/O threads never block: a DoorbellWaiter's bell is slept on by a
// thread of the process's BellHub (one thread per 127 bells, bell_hub.h) or,
// where the kernel lacks futex_waitv, by a thread of its own; that thread
// posts the wake-up to the connection's executor.
#pragma once

#include <asio/any_io_executor.hpp>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

#include "transport/shm/bell_hub.h"

namespace eccl::transport::shm {

// Wakes the process sleeping on `bell`, if any (a shared, not private, futex).
void ringBell(uint32_t& bell);

class DoorbellWaiter {
 public:
  // Who sleeps on the bell: a hub thread shared with other waiters (when the
  // kernel allows), or a thread of this waiter's own.
  enum class Sleeper { kHub, kOwnThread };

  DoorbellWaiter(uint32_t& bell, asio::any_io_executor executor, Sleeper sleeper = Sleeper::kHub);
  ~DoorbellWaiter();  // stop(), then leaves the hub or joins its own thread
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
  friend struct BellHub::Group;

  // Posts the armed wait's handler if the count moved; *mutex_ is held.
  void postIfRung(uint32_t now);
  void sleepUntilStopped();  // the own thread's loop

  uint32_t& bell_;
  asio::any_io_executor executor_;
  BellHub* hub_ = nullptr;
  BellHub::Group* group_ = nullptr;
  std::mutex own_mutex_;
  std::mutex* mutex_ = &own_mutex_;  // the hub group's, while in a hub; guards what follows
  bool armed_ = false;
  bool stopping_ = false;
  uint32_t seen_ = 0;
  std::function<void()> rung_;
  std::thread thread_;  // own sleeper only: started at the first arm()
};

}  // namespace eccl::transport::shm
