// A communicator's collective operations run one after another, in the order
// they were called, on a thread of their own. Asynchronous calls get a
// Request at once; blocking calls submit and wait. Because every peer calls
// its collectives in the same order, one order per communicator keeps the
// peers' ops matched without any tagging of concurrent rings.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "src/coll/coll_options.h"
#include "src/common/status.h"

namespace eccl::comm {

// The outcome of one submitted operation. Any thread may wait on or test it.
class Request {
 public:
  bool done() const;
  // Blocks until the operation has completed; returns its status.
  Status wait() const;
  // Waits at most `timeout`; false if the operation is still running.
  bool waitFor(std::chrono::milliseconds timeout) const;
  // The status and report of a completed operation (call after done()).
  Status status() const;
  coll::OpInfo info() const;

 private:
  friend class OpQueue;
  void complete(Status status, const coll::OpInfo& info);

  mutable std::mutex mu_;
  mutable std::condition_variable done_cv_;
  bool done_ = false;
  Status status_;
  coll::OpInfo info_;
};

class OpQueue {
 public:
  using Job = std::function<Status(coll::OpInfo*)>;

  OpQueue() = default;
  // Completes jobs that have not started with kAborted, waits for the running one.
  ~OpQueue();
  OpQueue(const OpQueue&) = delete;
  OpQueue& operator=(const OpQueue&) = delete;

  // Queues a job; its Request completes with what the job returns. After
  // stop(), the Request completes at once with kAborted.
  std::shared_ptr<Request> submit(Job job);
  // Jobs submitted and not yet completed.
  size_t outstanding() const;
  // No job starts after this; queued ones complete with `why`; returns once
  // the running one has finished (it must be made to end, e.g. by an abort).
  void stop(const Status& why);

 private:
  struct Entry {
    Job job;
    std::shared_ptr<Request> request;
  };
  void run();

  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<Entry> queue_;
  size_t running_ = 0;
  bool stopping_ = false;
  Status stop_reason_;
  std::thread worker_;  // started by the first submit
};

}  // namespace eccl::comm
