#include "tools/eccl-swarm/board.h"

namespace eccl::tools::swarm {

void Board::update(const std::function<void(Progress&)>& change) {
  {
    std::lock_guard lock(mu_);
    change(progress_);
  }
  changed_.notify_all();
}

void Board::fail(const std::string& why) {
  update([&](Progress& p) {
    if (p.failures++ == 0) p.first_failure = why;
  });
}

Progress Board::read() const {
  std::lock_guard lock(mu_);
  return progress_;
}

Status Board::waitUntil(const std::function<bool(const Progress&)>& done,
                        Clock::time_point deadline, const std::string& what) const {
  std::unique_lock lock(mu_);
  while (true) {
    if (progress_.failures > 0) {
      return Status(Code::kPeerLost, what + ": " + std::to_string(progress_.failures) +
                                         " peer failure(s), the first: " + progress_.first_failure);
    }
    if (done(progress_)) return Status::ok();
    if (Clock::now() >= deadline) return timeoutError(what + ": timed out");
    changed_.wait_until(lock, deadline);
  }
}

}  // namespace eccl::tools::swarm
