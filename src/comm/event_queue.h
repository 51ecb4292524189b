// A comm's events: queued for pollEvent, or, while a callback is set, handed
// to it one at a time, in order, on a delivery thread of their own (started
// with the first callback). The thread that pushes an event (the control
// client's) never runs the callback, so a slow callback delays only later
// events, and the callback may call back into the comm without deadlocking
// on the comm's locks.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "src/comm/comm_event.h"

namespace eccl::comm {

class EventQueue {
 public:
  using Callback = std::function<void(const Event&)>;

  // At most `capacity` events wait in each of the queue and the callback's
  // backlog; the oldest are dropped beyond it.
  explicit EventQueue(size_t capacity);
  // Stops the delivery thread: its backlog is dropped. Must not run on it.
  ~EventQueue();
  EventQueue(const EventQueue&) = delete;
  EventQueue& operator=(const EventQueue&) = delete;

  // Any thread; never waits for the callback.
  void push(const Event& event);
  std::optional<Event> poll();
  uint64_t dropped() const;

  // Sets the callback, or removes it (empty): the events it has not been
  // handed yet are queued for poll, in order. Except on the delivery thread
  // (from inside the callback), returns once the previous callback is not
  // running: it is never called again.
  void setCallback(Callback callback);
  // Whether the calling thread is the delivery thread.
  bool onDeliveryThread() const;

 private:
  void deliver();
  void pushLocked(std::deque<Event>& into, const Event& event);

  const size_t capacity_;
  mutable std::mutex mu_;
  std::condition_variable wake_;  // an event for the callback, or stopping
  std::condition_variable idle_;  // a callback call returned
  std::deque<Event> queued_;      // for poll
  std::deque<Event> backlog_;     // for the callback
  Callback callback_;
  uint64_t dropped_ = 0;
  bool calling_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace eccl::comm
