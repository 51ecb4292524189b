#include "src/comm/op_queue.h"

namespace eccl::comm {

bool Request::done() const {
  std::lock_guard lock(mu_);
  return done_;
}

Status Request::wait() const {
  std::unique_lock lock(mu_);
  done_cv_.wait(lock, [&] { return done_; });
  return status_;
}

bool Request::waitFor(std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return done_cv_.wait_for(lock, timeout, [&] { return done_; });
}

Status Request::status() const {
  std::lock_guard lock(mu_);
  return status_;
}

coll::OpInfo Request::info() const {
  std::lock_guard lock(mu_);
  return info_;
}

void Request::complete(Status status, const coll::OpInfo& info) {
  std::lock_guard lock(mu_);
  status_ = std::move(status);
  info_ = info;
  done_ = true;
  done_cv_.notify_all();
}

OpQueue::~OpQueue() {
  stop(abortedError("the communicator was destroyed"));
}

std::shared_ptr<Request> OpQueue::submit(Job job) {
  auto request = std::make_shared<Request>();
  std::unique_lock lock(mu_);
  if (stopping_) {
    lock.unlock();
    request->complete(stop_reason_, {});
    return request;
  }
  queue_.push_back({std::move(job), request});
  if (!worker_.joinable()) worker_ = std::thread([this] { run(); });
  work_cv_.notify_one();
  return request;
}

size_t OpQueue::outstanding() const {
  std::lock_guard lock(mu_);
  return queue_.size() + running_;
}

void OpQueue::stop(const Status& why) {
  std::deque<Entry> dropped;
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      stop_reason_ = why;
    }
    dropped.swap(queue_);
    work_cv_.notify_all();
  }
  for (auto& entry : dropped)
    entry.request->complete(stop_reason_, {});
  if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
}

void OpQueue::run() {
  std::unique_lock lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping
    Entry entry = std::move(queue_.front());
    queue_.pop_front();
    ++running_;
    lock.unlock();
    coll::OpInfo info;
    Status status = entry.job(&info);
    entry.request->complete(std::move(status), info);
    lock.lock();
    --running_;
  }
}

}  // namespace eccl::comm
