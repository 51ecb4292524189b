#include "src/comm/outcome_book.h"

namespace eccl::comm {

using protocol::OpProgress;

Status doomedOpError(const std::string& name, const std::string& when) {
  return Status(
      Code::kPeerLost,
      name + ": another survivor could not complete this op (the master asked " + when + ")");
}

void OutcomeBook::reset(uint64_t revision) {
  if (revision == revision_) return;
  revision_ = revision;
  entries_.clear();
  forgotten_below_ = 0;
}

OutcomeBook::Entry* OutcomeBook::find(const protocol::OpRef& op) {
  if (op.revision != revision_) return nullptr;
  auto it = entries_.find(op.index);
  return it == entries_.end() ? nullptr : &it->second;
}

bool OutcomeBook::begin(const protocol::OpRef& op) {
  if (op.revision != revision_) return true;  // not numbered: no agreement (see the caller)
  auto [it, inserted] = entries_.try_emplace(op.index);
  if (!inserted) return false;  // doomed before it started
  forgetOldSucceeded();
  return true;
}

bool OutcomeBook::complete(const protocol::OpRef& op) {
  Entry* entry = find(op);
  if (entry == nullptr) return true;
  if (entry->state != State::kRunning) return false;
  entry->state = State::kComplete;
  return true;
}

void OutcomeBook::succeeded(const protocol::OpRef& op) {
  if (Entry* entry = find(op)) entry->state = State::kSucceeded;
}

void OutcomeBook::failed(const protocol::OpRef& op) {
  if (Entry* entry = find(op); entry != nullptr && entry->state == State::kRunning) {
    entry->state = State::kIncomplete;
  }
}

OpProgress OutcomeBook::answer(const protocol::OpRef& op, bool* doomed_now) {
  *doomed_now = false;
  if (op.revision != revision_) return OpProgress::kIncomplete;  // none of ours runs at it
  auto it = entries_.find(op.index);
  if (it == entries_.end()) {
    if (op.index < forgotten_below_) return OpProgress::kSucceeded;
    // Not started yet: it fails when it starts.
    entries_[op.index].state = State::kIncomplete;
    return OpProgress::kIncomplete;
  }
  switch (it->second.state) {
    case State::kRunning:
      it->second.state = State::kIncomplete;
      *doomed_now = true;
      return OpProgress::kIncomplete;
    case State::kComplete:
      return OpProgress::kComplete;
    case State::kSucceeded:
      return OpProgress::kSucceeded;
    case State::kIncomplete:
      break;
  }
  return OpProgress::kIncomplete;
}

void OutcomeBook::setVerdict(const protocol::OpRef& op, bool success) {
  if (Entry* entry = find(op)) entry->verdict = success;
}

std::optional<bool> OutcomeBook::verdict(const protocol::OpRef& op) const {
  if (op.revision != revision_) return std::nullopt;
  auto it = entries_.find(op.index);
  return it == entries_.end() ? std::nullopt : it->second.verdict;
}

void OutcomeBook::forgetOldSucceeded() {
  while (entries_.size() > kMaxEntries) {
    auto oldest = entries_.begin();
    if (oldest->second.state != State::kSucceeded) return;
    forgotten_below_ = oldest->first + 1;
    entries_.erase(oldest);
  }
}

}  // namespace eccl::comm
