#include "transport/shm/doorbell.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <asio/post.hpp>
#include <atomic>
#include <utility>

#include "src/common/thread_name.h"

namespace eccl::transport::shm {
namespace {

std::atomic_ref<uint32_t> count(uint32_t& bell) {
  return std::atomic_ref<uint32_t>(bell);
}

// Sleeps while `bell` holds `seen`; returns on a wake, a changed count, or a signal.
void futexWait(uint32_t& bell, uint32_t seen) {
  ::syscall(SYS_futex, &bell, FUTEX_WAIT, seen, nullptr, nullptr, 0);
}

void futexWakeAll(uint32_t& bell) {
  ::syscall(SYS_futex, &bell, FUTEX_WAKE, INT32_MAX, nullptr, nullptr, 0);
}

}  // namespace

void ringBell(uint32_t& bell) {
  count(bell).fetch_add(1);  // seq_cst: after the caller's flag was taken down
  futexWakeAll(bell);
}

DoorbellWaiter::DoorbellWaiter(uint32_t& bell, asio::any_io_executor executor, Sleeper sleeper)
    : bell_(bell), executor_(std::move(executor)) {
  if (sleeper == Sleeper::kHub) hub_ = BellHub::instance();
  if (hub_ == nullptr) return;
  // Nothing is armed yet, so the hub's thread has nothing to post before mutex_ is set.
  group_ = &hub_->add(*this);
  mutex_ = &BellHub::mutexOf(*group_);
}

DoorbellWaiter::~DoorbellWaiter() {
  stop();
  if (hub_ != nullptr) hub_->remove(*group_, *this);
  if (thread_.joinable()) thread_.join();
}

uint32_t DoorbellWaiter::seen() const {
  return count(bell_).load();
}

void DoorbellWaiter::arm(uint32_t seen, std::function<void()> rung) {
  std::lock_guard lock(*mutex_);
  if (stopping_ || armed_) return;
  if (count(bell_).load() != seen) {
    // Rung since the caller counted: the thread may sleep past that ring already.
    asio::post(executor_, std::move(rung));
    return;
  }
  armed_ = true;
  seen_ = seen;
  rung_ = std::move(rung);
  if (hub_ == nullptr && !thread_.joinable())
    thread_ = std::thread([this] {
      nameThisThread("eccl-doorbell");
      sleepUntilStopped();
    });
}

void DoorbellWaiter::stop() {
  bool own_thread_sleeps = false;
  {
    std::lock_guard lock(*mutex_);
    if (stopping_) return;
    stopping_ = true;
    own_thread_sleeps = thread_.joinable();
  }
  // Only this side sleeps on its own bell: bumping it wakes nobody else.
  // (A hub's thread needs no wake-up: it posts nothing once stopping_ is set.)
  if (own_thread_sleeps) ringBell(bell_);
}

void DoorbellWaiter::postIfRung(uint32_t now) {
  if (stopping_ || !armed_ || now == seen_) return;
  armed_ = false;
  // Posted under the lock: stop() cannot return between the check and the post.
  asio::post(executor_, std::exchange(rung_, nullptr));
}

// The thread sleeps on the bell whether or not a wait is armed, so that
// arming costs no system call: the other side rings only when this side's
// flag says it sleeps, which comes with an arm, so idle rings are rare.
void DoorbellWaiter::sleepUntilStopped() {
  std::unique_lock lock(own_mutex_);
  while (!stopping_) {
    const uint32_t now = count(bell_).load();
    postIfRung(now);
    lock.unlock();
    futexWait(bell_, now);  // returns at once if a ring came after `now`
    lock.lock();
  }
}

}  // namespace eccl::transport::shm
