#include "transport/shm/bell_hub.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <thread>

#include "src/common/thread_name.h"
#include "transport/shm/doorbell.h"

namespace eccl::transport::shm {
namespace {

std::atomic_ref<uint32_t> word(uint32_t& value) {
  return std::atomic_ref<uint32_t>(value);
}

long futexWaitv(futex_waitv* waiters, unsigned count) {
  return ::syscall(SYS_futex_waitv, waiters, count, 0, nullptr, CLOCK_MONOTONIC);
}

// An empty list is refused with EINVAL by a kernel that has the call, and
// with ENOSYS (or a seccomp filter's EPERM) by one that has not.
bool kernelHasFutexWaitv() {
  return futexWaitv(nullptr, 0) == -1 && errno == EINVAL;
}

std::atomic<BellHub*> the_hub{nullptr};

}  // namespace

struct BellHub::Group {
  std::mutex mutex;
  std::vector<DoorbellWaiter*> members;  // guarded by mutex
  uint32_t changes = 0;  // bumped under mutex whenever members change; a private futex
  bool retired = false;  // the last member left: the thread ends (set under both locks)
  std::thread thread;

  void changed() {
    word(changes).fetch_add(1);
    ::syscall(SYS_futex, &changes, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }

  // Each pass reads every bell once: the value both decides whether an armed
  // waiter was rung and is what futex_waitv sleeps on, so a ring after the
  // read makes the wait return at once.
  void sleepOnMembers() {
    std::vector<futex_waitv> waits;
    std::unique_lock lock(mutex);
    while (!retired) {
      waits.clear();
      for (DoorbellWaiter* waiter : members) {
        const uint32_t now = word(waiter->bell_).load();
        waiter->postIfRung(now);
        waits.push_back({.val = now,
                         .uaddr = reinterpret_cast<uintptr_t>(&waiter->bell_),
                         .flags = FUTEX_32,  // shared: the other process rings it
                         .__reserved = 0});
      }
      // Taken under the lock that add and remove hold: a change after it
      // makes the wait return, before it touches a bell that is gone.
      waits.push_back({.val = word(changes).load(),
                       .uaddr = reinterpret_cast<uintptr_t>(&changes),
                       .flags = FUTEX_32 | FUTEX_PRIVATE_FLAG,
                       .__reserved = 0});
      lock.unlock();
      futexWaitv(waits.data(), static_cast<unsigned>(waits.size()));
      lock.lock();
    }
  }
};

BellHub* BellHub::instance() {
  static const bool available = [] {
    if (!kernelHasFutexWaitv()) return false;
    the_hub.store(new BellHub);  // never deleted: waiters may outlive static destructors
    ::pthread_atfork(nullptr, nullptr, &BellHub::forgetInChild);
    return true;
  }();
  return available ? the_hub.load() : nullptr;
}

// A forked child has none of the hub's threads, and its locks may have been
// held by threads that are gone: it starts a hub of its own for the
// connections it makes. Waiters it inherited are not served there: they
// belong to the parent's communicators, which the C API refuses to use or
// tear down in a child (c_api/handle_checks.h).
void BellHub::forgetInChild() {
  the_hub.store(new BellHub);
}

BellHub::Group& BellHub::add(DoorbellWaiter& waiter) {
  std::lock_guard hub_lock(mutex_);
  for (auto& group : groups_) {
    std::lock_guard lock(group->mutex);
    if (group->members.size() < kBellsPerThread) {
      group->members.push_back(&waiter);
      group->changed();
      return *group;
    }
  }
  auto& group = *groups_.emplace_back(std::make_unique<Group>());
  group.members.push_back(&waiter);  // before the thread starts: no lock needed yet
  group.thread = std::thread([&group] {
    nameThisThread("eccl-bells");
    group.sleepOnMembers();
  });
  return group;
}

// A group whose last waiter leaves ends its thread, and the caller joins it:
// a process with no shared-memory connection left has no thread of ours, so
// a fork() then forks a single-threaded process (ThreadSanitizer refuses new
// threads in the child of a multi-threaded one, and a test forks after
// another test's connections are gone).
void BellHub::remove(Group& group, DoorbellWaiter& waiter) {
  std::unique_ptr<Group> emptied;
  {
    std::lock_guard hub_lock(mutex_);
    {
      std::lock_guard lock(group.mutex);
      std::erase(group.members, &waiter);
      group.retired = group.members.empty();
      group.changed();
    }
    if (group.retired) {
      auto it = std::find_if(groups_.begin(), groups_.end(),
                             [&](const auto& owned) { return owned.get() == &group; });
      emptied = std::move(*it);
      groups_.erase(it);
    }
  }
  if (emptied) emptied->thread.join();
}

std::mutex& BellHub::mutexOf(Group& group) {
  return group.mutex;
}

size_t BellHub::threadCount() {
  std::lock_guard lock(mutex_);
  return groups_.size();
}

}  // namespace eccl::transport::shm
