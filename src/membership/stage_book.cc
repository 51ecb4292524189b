#include "src/membership/stage_book.h"

#include <string>

namespace eccl::membership {

Status StageBook::check(const std::string& group, int32_t stage, uint32_t num_stages,
                        bool group_has_peers) const {
  const auto bound = by_group_.find(group);
  if (stage < 0) {
    if (bound == by_group_.end()) return Status::ok();
    return invalidUsage("group '" + group + "' holds pipeline stage " +
                        std::to_string(bound->second) + ": a peer without a stage cannot join it");
  }
  const auto index = static_cast<uint32_t>(stage);
  if (peers_ > 0 && num_stages != num_stages_) {
    return invalidUsage("the pipeline has " + std::to_string(num_stages_) +
                        " stages; this peer of group '" + group + "' says " +
                        std::to_string(num_stages));
  }
  if (bound != by_group_.end() && bound->second != index) {
    return invalidUsage("group '" + group + "' holds pipeline stage " +
                        std::to_string(bound->second) + ", not stage " + std::to_string(index));
  }
  if (bound == by_group_.end() && group_has_peers) {
    return invalidUsage("group '" + group +
                        "' has peers without a pipeline stage: it cannot hold stage " +
                        std::to_string(index));
  }
  auto held = stages_.find(index);
  if (held != stages_.end() && held->second.group != group) {
    return invalidUsage("pipeline stage " + std::to_string(index) + " is held by group '" +
                        held->second.group + "', not '" + group + "'");
  }
  return Status::ok();
}

void StageBook::add(const std::string& group, int32_t stage, uint32_t num_stages) {
  if (stage < 0) return;
  const auto index = static_cast<uint32_t>(stage);
  if (peers_++ == 0) num_stages_ = num_stages;
  auto [it, inserted] = stages_.try_emplace(index);
  if (inserted) it->second.group = group;
  by_group_[group] = index;
}

std::optional<uint32_t> StageBook::remove(int32_t stage, bool group_empty) {
  if (stage < 0 || peers_ == 0) return std::nullopt;
  const auto index = static_cast<uint32_t>(stage);
  std::optional<uint32_t> lost;
  auto it = stages_.find(index);
  if (it != stages_.end() && group_empty && it->second.had_accepted &&
      it->second.state != State::kLost) {
    it->second.state = State::kLost;
    it->second.had_accepted = false;
    lost = index;
  }
  if (--peers_ == 0) {
    // Nobody of the pipeline is left: the next one starts afresh.
    num_stages_ = 0;
    stages_.clear();
    by_group_.clear();
  }
  return lost;
}

bool StageBook::accepted(const std::string& group) {
  auto bound = by_group_.find(group);
  if (bound == by_group_.end()) return false;
  Stage& stage = stages_.at(bound->second);
  stage.had_accepted = true;
  if (stage.state != State::kLost) return false;
  stage.state = State::kRecovering;
  return true;
}

bool StageBook::announce(int32_t stage) {
  auto it = stages_.find(static_cast<uint32_t>(stage));
  if (stage < 0 || it == stages_.end() || it->second.state != State::kRecovering) {
    return false;
  }
  it->second.state = State::kActive;
  return true;
}

void StageBook::report(int32_t stage, const EndpointId& peer, uint64_t round, double value) {
  auto it = stages_.find(static_cast<uint32_t>(stage));
  if (stage < 0 || it == stages_.end()) return;
  auto& metric = it->second.metric;
  if (!metric || round >= metric->round) metric = Metric{round, value, peer};
}

const char* StageBook::stateName(State state) {
  switch (state) {
    case State::kActive:
      return "active";
    case State::kLost:
      return "lost";
    case State::kRecovering:
      return "recovering";
  }
  return "unknown";
}

const StageBook::Stage* StageBook::find(uint32_t stage) const {
  auto it = stages_.find(stage);
  return it == stages_.end() ? nullptr : &it->second;
}

}  // namespace eccl::membership
