// One sleeping thread for many shared-memory doorbells.
//
// A rank of an all-on-one-host job has a shared-memory connection to every
// other rank, K per channel, and each side sleeps on a doorbell word of its
// segment (doorbell.h). A thread per word would be tens of threads per rank;
// the hub's threads wait on up to 127 words each with futex_waitv(2) (Linux
// 5.16), plus a private word of their own that is bumped whenever their set
// of doorbells changes, so that a waiter that comes or goes is seen at once.
// A thread starts with its first waiter and ends with its last.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

namespace eccl::transport::shm {

class DoorbellWaiter;

class BellHub {
 public:
  struct Group;

  // The process's hub, or nullptr where the kernel refuses futex_waitv (older
  // than 5.16, or a seccomp filter): waiters then sleep on threads of their own.
  static BellHub* instance();

  // From now on a thread of the hub sleeps on `waiter`'s bell and calls its
  // postIfRung() under the returned group's mutex, until remove().
  Group& add(DoorbellWaiter& waiter);
  // Once this returns the hub does not touch `waiter` again; the group is
  // gone (its thread joined) if `waiter` was its last member.
  void remove(Group& group, DoorbellWaiter& waiter);

  static std::mutex& mutexOf(Group& group);
  // Threads the hub has now (one per group of up to 127 bells), for tests.
  size_t threadCount();

  // The most bells one thread sleeps on: futex_waitv takes 128 words, one is the group's own.
  static constexpr size_t kBellsPerThread = 127;

 private:
  BellHub() = default;
  static void forgetInChild();

  std::mutex mutex_;  // guards groups_ (not their members: each group has its own lock)
  std::vector<std::unique_ptr<Group>> groups_;
};

}  // namespace eccl::transport::shm
