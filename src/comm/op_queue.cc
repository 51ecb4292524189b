#include "src/comm/op_queue.h"

#include "src/common/thread_name.h"

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

Status waitForRequest(const Result<std::shared_ptr<Request>>& request, coll::OpInfo* info) {
  if (!request) return request.status();
  Status status = (*request)->wait();
  if (info != nullptr) *info = (*request)->info();
  return status;
}

OpQueue::~OpQueue() {
  stop(abortedError("the communicator was destroyed"));
}

std::shared_ptr<Request> OpQueue::submit(Job job, JobTraits traits) {
  auto request = std::make_shared<Request>();
  std::unique_lock lock(mu_);
  if (stopping_) {
    lock.unlock();
    request->complete(stop_reason_, {});
    return request;
  }
  queue_.push_back({std::move(job), std::move(traits), request});
  if (workers_.size() < max_in_flight_ && workers_.size() < queue_.size() + running_) {
    workers_.emplace_back([this] {
      nameThisThread("eccl-op");
      run();
    });
  }
  work_cv_.notify_all();
  return request;
}

size_t OpQueue::outstanding() const {
  std::lock_guard lock(mu_);
  return queue_.size() + running_;
}

void OpQueue::stop(const Status& why) {
  std::deque<Entry> dropped;
  std::vector<std::thread> workers;
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      stop_reason_ = why;
    }
    dropped.swap(queue_);
    workers.swap(workers_);
    work_cv_.notify_all();
  }
  for (auto& entry : dropped)
    entry.request->complete(stop_reason_, {});
  for (auto& worker : workers) {
    if (worker.get_id() != std::this_thread::get_id())
      worker.join();
    else
      worker.detach();  // a job destroying its own communicator: the thread ends after it
  }
}

bool OpQueue::headCanStartLocked() const {
  if (queue_.empty() || running_ >= max_in_flight_ || exclusive_running_) return false;
  const Entry& head = queue_.front();
  if (head.traits.exclusive) return running_ == 0;
  return !head.traits.tag || running_tags_.count(*head.traits.tag) == 0;
}

uint64_t OpQueue::nextSequence() const {
  std::lock_guard lock(mu_);
  return next_sequence_ + queue_.size();
}

void OpQueue::run() {
  std::unique_lock lock(mu_);
  while (true) {
    work_cv_.wait(lock, [&] { return stopping_ || headCanStartLocked(); });
    if (stopping_) return;
    // Jobs start strictly in submission order: the sequence is the same on every peer.
    Entry entry = std::move(queue_.front());
    queue_.pop_front();
    const uint64_t sequence = next_sequence_++;
    ++running_;
    if (entry.traits.exclusive) exclusive_running_ = true;
    if (entry.traits.tag) running_tags_.insert(*entry.traits.tag);
    work_cv_.notify_all();  // the next head may start on another worker
    lock.unlock();
    coll::OpInfo info;
    Status status = entry.job(&info, sequence);
    entry.request->complete(std::move(status), info);
    lock.lock();
    --running_;
    if (entry.traits.exclusive) exclusive_running_ = false;
    if (entry.traits.tag) running_tags_.erase(running_tags_.find(*entry.traits.tag));
    work_cv_.notify_all();
  }
}

}  // namespace eccl::comm
