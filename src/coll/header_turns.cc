#include "src/coll/header_turns.h"

#include <string>

namespace eccl::coll {

Status HeaderTurns::waitTurn(uint64_t ticket, std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mu_);
  if (!changed_.wait_until(lock, deadline, [&] { return next_ >= ticket; })) {
    return timeoutError("the op's turn to exchange headers did not come before its deadline (" +
                        std::to_string(ticket - next_) + " earlier ops still exchanging)");
  }
  return Status::ok();
}

void HeaderTurns::done(uint64_t ticket) {
  std::lock_guard lock(mu_);
  if (ticket < next_) return;
  done_early_.insert(ticket);
  while (!done_early_.empty() && *done_early_.begin() == next_) {
    done_early_.erase(done_early_.begin());
    ++next_;
  }
  changed_.notify_all();
}

}  // namespace eccl::coll
