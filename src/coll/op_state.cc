#include "src/coll/op_state.h"

namespace eccl::coll {

Code transferFailureCode(Code code) {
  const bool keep = code == Code::kInvalidArgument || code == Code::kInvalidUsage ||
                    code == Code::kProtocolError || code == Code::kUnsupported ||
                    code == Code::kAuthError;
  return keep ? code : Code::kPeerLost;
}

void OpState::fail(Status why) {
  std::lock_guard lock(mu_);
  if (failure_) return;
  failure_ = std::move(why);
  changed_.notify_all();
}

bool OpState::failed() {
  std::lock_guard lock(mu_);
  return failure_.has_value();
}

std::function<void(Status)> OpState::callback(uint64_t token) {
  return [self = shared_from_this(), token](Status status) {
    std::lock_guard lock(self->mu_);
    self->completed_.push_back({token, std::move(status)});
    self->changed_.notify_all();
  };
}

std::optional<Status> OpState::wait(Clock::time_point until, std::vector<Completion>& out) {
  std::unique_lock lock(mu_);
  changed_.wait_until(lock, until, [&] {
    return !completed_.empty() || (failure_.has_value() && !failure_reported_);
  });
  for (auto& completion : completed_)
    out.push_back(std::move(completion));
  completed_.clear();
  if (!failure_ || failure_reported_) return std::nullopt;
  failure_reported_ = true;
  return failure_;
}

}  // namespace eccl::coll
