#include "src/comm/event_queue.h"

#include <exception>
#include <utility>

#include "src/common/log.h"
#include "src/common/thread_name.h"

namespace eccl::comm {

EventQueue::EventQueue(size_t capacity) : capacity_(capacity) {}

EventQueue::~EventQueue() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void EventQueue::pushLocked(std::deque<Event>& into, const Event& event) {
  if (into.size() >= capacity_) {
    into.pop_front();
    ++dropped_;
  }
  into.push_back(event);
}

void EventQueue::push(const Event& event) {
  std::lock_guard lock(mu_);
  if (callback_) {
    pushLocked(backlog_, event);
    wake_.notify_one();
  } else {
    pushLocked(queued_, event);
  }
}

std::optional<Event> EventQueue::poll() {
  std::lock_guard lock(mu_);
  if (queued_.empty()) return std::nullopt;
  Event event = queued_.front();
  queued_.pop_front();
  return event;
}

uint64_t EventQueue::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

bool EventQueue::onDeliveryThread() const {
  std::lock_guard lock(mu_);
  return thread_.joinable() && thread_.get_id() == std::this_thread::get_id();
}

void EventQueue::setCallback(Callback callback) {
  std::unique_lock lock(mu_);
  callback_ = std::move(callback);
  if (!callback_) {
    // Nobody will be handed the backlog: it goes to poll, after what was
    // queued before the callback was set (it is newer).
    for (const Event& event : backlog_)
      pushLocked(queued_, event);
    backlog_.clear();
  } else if (!thread_.joinable()) {
    thread_ = std::thread([this] {
      nameThisThread("eccl-events");
      deliver();
    });
  }
  wake_.notify_all();
  // From inside the callback, waiting for it to return would never end.
  const bool inside = thread_.joinable() && thread_.get_id() == std::this_thread::get_id();
  if (!inside) idle_.wait(lock, [&] { return !calling_; });
}

void EventQueue::deliver() {
  std::unique_lock lock(mu_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || (callback_ && !backlog_.empty()); });
    if (stopping_) return;
    const Event event = backlog_.front();
    backlog_.pop_front();
    // A copy: setCallback may replace callback_ while this one runs.
    const Callback callback = callback_;
    calling_ = true;
    lock.unlock();
    try {
      callback(event);
    } catch (const std::exception& e) {
      ECCL_LOG_WARN("event callback threw: {}", e.what());
    } catch (...) {
      ECCL_LOG_WARN("event callback threw a non-standard exception");
    }
    lock.lock();
    calling_ = false;
    idle_.notify_all();
  }
}

}  // namespace eccl::comm
