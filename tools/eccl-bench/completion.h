// Waiting, with a deadline, for one asynchronous transport completion.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include "src/common/status.h"

namespace eccl::tools::bench {

// The callback shares its state with the Completion, so a completion that
// arrives after the waiter gave up (timeout) touches nothing freed.
class Completion {
 public:
  std::function<void(Status)> callback() {
    return [state = state_](Status status) {
      std::lock_guard lock(state->mu);
      state->status = std::move(status);
      state->cv.notify_all();
    };
  }

  // The callback's Status, or a timeout error naming `what`.
  Status wait(std::chrono::milliseconds timeout, const std::string& what) {
    std::unique_lock lock(state_->mu);
    if (!state_->cv.wait_for(lock, timeout, [&] { return state_->status.has_value(); })) {
      return timeoutError(what + " did not complete within " + std::to_string(timeout.count()) +
                          " ms");
    }
    if (!state_->status->isOk()) return state_->status->withContext(what);
    return Status::ok();
  }

  bool done() const {
    std::lock_guard lock(state_->mu);
    return state_->status.has_value();
  }

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Status> status;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

}  // namespace eccl::tools::bench
