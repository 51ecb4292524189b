#include "src/membership/outcome_arbiter.h"

#include <algorithm>

namespace eccl::membership {

using protocol::OpDecision;
using protocol::OpProgress;

void OutcomeArbiter::tell(const std::vector<EndpointId>& to, const protocol::OpRef& op,
                          bool success, std::vector<Message>& out) {
  for (const EndpointId& member : to) {
    out.push_back({member, {op, success ? OpDecision::kSucceeded : OpDecision::kFailed}});
  }
}

void OutcomeArbiter::onReport(const std::string& group, uint64_t revision,
                              const std::vector<EndpointId>& members, const EndpointId& from,
                              const protocol::OpReport& report, std::vector<Message>& out) {
  const Key key{group, report.op};
  if (auto done = decided_.find(key); done != decided_.end()) {
    tell({from}, report.op, done->second, out);
    return;
  }
  if (report.op.revision != revision) {
    // The group moved on: its members finished every op of that revision
    // before they voted. Only a stale or confused peer asks.
    tell({from}, report.op, false, out);
    return;
  }
  auto it = open_.find(key);
  if (it == open_.end()) {
    if (report.progress != OpProgress::kComplete) {
      // Decided by this report alone; nobody waits unless asked, but a member
      // that asks later must hear the same.
      decide(key, report.progress == OpProgress::kSucceeded, out);
      return;
    }
    if (open_.size() >= kMaxOpenInquiries) {
      tell({from}, report.op, false, out);
      return;
    }
    Inquiry inquiry;
    inquiry.members = members;
    for (const EndpointId& member : members) {
      if (member != from) inquiry.waiting.insert(member);
    }
    for (const EndpointId& member : inquiry.waiting)
      out.push_back({member, {report.op, OpDecision::kQuery}});
    it = open_.emplace(key, std::move(inquiry)).first;
  }
  record(key, from, report.progress, out);
}

void OutcomeArbiter::record(const Key& key, const EndpointId& from, OpProgress progress,
                            std::vector<Message>& out) {
  Inquiry& inquiry = open_.at(key);
  inquiry.waiting.erase(from);
  if (progress == OpProgress::kIncomplete) return decide(key, false, out);
  if (progress == OpProgress::kSucceeded) return decide(key, true, out);
  if (inquiry.waiting.empty()) decide(key, true, out);
}

void OutcomeArbiter::decide(const Key& key, bool success, std::vector<Message>& out) {
  if (auto it = open_.find(key); it != open_.end()) {
    tell(it->second.members, key.op, success, out);
    open_.erase(it);
  }
  if (decided_.size() >= kMaxRememberedVerdicts) {
    decided_.erase(decided_order_.front());
    decided_order_.pop_front();
  }
  if (decided_.emplace(key, success).second) decided_order_.push_back(key);
}

void OutcomeArbiter::onDeparted(const std::string& group, const EndpointId& peer,
                                std::vector<Message>& out) {
  std::vector<Key> complete;
  for (auto& [key, inquiry] : open_) {
    if (key.group != group) continue;
    std::erase(inquiry.members, peer);
    if (inquiry.waiting.erase(peer) != 0 && inquiry.waiting.empty()) complete.push_back(key);
  }
  for (const Key& key : complete)
    decide(key, true, out);
}

void OutcomeArbiter::onCommit(const std::string& group, uint64_t revision,
                              std::vector<Message>& out) {
  std::vector<Key> stale;
  for (const auto& [key, inquiry] : open_) {
    if (key.group == group && key.op.revision < revision) stale.push_back(key);
  }
  for (const Key& key : stale)
    decide(key, false, out);
}

}  // namespace eccl::membership
