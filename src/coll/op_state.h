// The meeting point of one running op: its transport completions (from I/O
// threads) and its external failures (abort, peer events from the control
// thread) meet the op's own thread here, which does all the work.
//
// Completion callbacks only record and notify (they must not block; the
// completion lap's also send its next hop, which does not block). They
// hold the state by shared_ptr, so one that runs after the op returned finds
// it alive. The op does not return while a transport operation it started can
// still touch its buffers (see ring_allreduce.cc).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "src/common/status.h"

namespace eccl::coll {

struct Completion {
  uint64_t token = 0;  // what the op handed to callback()
  Status status;
};

// The code an op reports for a transport operation that failed with `code`: a
// refused or malformed message keeps its code; a broken or closed channel
// means, for the op, that the partner is gone (kPeerLost).
Code transferFailureCode(Code code);

class OpState : public std::enable_shared_from_this<OpState> {
 public:
  using Clock = std::chrono::steady_clock;

  static std::shared_ptr<OpState> create() { return std::shared_ptr<OpState>(new OpState()); }

  // Any thread: ends the op with this status unless it already failed.
  void fail(Status why);
  // Any thread: whether fail() was called.
  bool failed();
  // A transport callback that reports `token`'s completion.
  std::function<void(Status)> callback(uint64_t token);

  // The op's thread: waits until a completion or failure arrives or until
  // `until`; moves completions into `out`. Returns the external failure the
  // first time it sees it (later waits wait for completions only).
  std::optional<Status> wait(Clock::time_point until, std::vector<Completion>& out);

 private:
  OpState() = default;

  std::mutex mu_;
  std::condition_variable changed_;
  std::vector<Completion> completed_;
  std::optional<Status> failure_;
  bool failure_reported_ = false;
};

}  // namespace eccl::coll
