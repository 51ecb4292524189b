// A communicator's collective operations start in the order they were
// called, on threads of their own, up to max_in_flight at a time: ops with
// distinct tags run concurrently, an op waits for a running one with the same
// tag (they would share streams), and an exclusive job (a topology update)
// waits for every running op and holds back the ones after it. Asynchronous
// calls get a Request at once; blocking calls submit and wait. Every peer
// calls its collectives in the same order, so every peer starts them in the
// same order, which is what keeps their headers matched (header_turns.h).
#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <vector>

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

struct JobTraits {
  bool exclusive = false;
  std::optional<uint64_t> tag;  // jobs with equal tags never overlap
};

// A blocking call's outcome: the submission's error, or the request's status
// once it has completed (its report copied into info unless that is null).
Status waitForRequest(const Result<std::shared_ptr<Request>>& request, coll::OpInfo* info);

class OpQueue {
 public:
  // `sequence` numbers the jobs in the order they start, from 0.
  using Job = std::function<Status(coll::OpInfo*, uint64_t sequence)>;

  explicit OpQueue(size_t max_in_flight = 1) : max_in_flight_(std::max<size_t>(1, max_in_flight)) {}
  // Completes jobs that have not started with kAborted, waits for the running one.
  ~OpQueue();
  OpQueue(const OpQueue&) = delete;
  OpQueue& operator=(const OpQueue&) = delete;

  // Queues a job; its Request completes with what the job returns. After
  // stop(), the Request completes at once with kAborted.
  std::shared_ptr<Request> submit(Job job, JobTraits traits = {});
  // Jobs submitted and not yet completed.
  size_t outstanding() const;
  // The sequence the next job to start will get.
  uint64_t nextSequence() const;
  // No job starts after this; queued ones complete with `why`; returns once
  // the running one has finished (it must be made to end, e.g. by an abort).
  void stop(const Status& why);

 private:
  struct Entry {
    Job job;
    JobTraits traits;
    std::shared_ptr<Request> request;
  };
  void run();
  bool headCanStartLocked() const;

  const size_t max_in_flight_;
  mutable std::mutex mu_;
  std::condition_variable work_cv_;
  std::deque<Entry> queue_;
  size_t running_ = 0;
  bool exclusive_running_ = false;
  std::multiset<uint64_t> running_tags_;
  uint64_t next_sequence_ = 0;
  bool stopping_ = false;
  Status stop_reason_;
  std::vector<std::thread> workers_;  // started as jobs need them, up to max_in_flight_
};

}  // namespace eccl::comm
