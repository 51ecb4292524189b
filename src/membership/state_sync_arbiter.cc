#include "src/membership/state_sync_arbiter.h"

#include <algorithm>
#include <set>

#include "src/protocol/messages.h"

namespace eccl::membership {

using protocol::PlanKind;
using protocol::StatePlan;

namespace {

// Transfer ids name data streams in 24 bits (src/comm/p2p_stream.h).
constexpr uint32_t kMaxTransferIds = 1u << 24;

bool isMember(const std::vector<EndpointId>& members, const EndpointId& peer) {
  return std::find(members.begin(), members.end(), peer) != members.end();
}

}  // namespace

Status StateSyncArbiter::onVote(const EndpointId& peer, const protocol::StateVote& vote,
                                uint64_t group_revision, const std::vector<EndpointId>& members,
                                std::vector<Message>& out, double link_bytes_per_s) {
  if (!isMember(members, peer)) {
    return invalidUsage("peer " + peer.shortHex() +
                        " voted for a shared state sync but is not an accepted member");
  }
  if (vote.group_revision != group_revision) {
    return invalidUsage("peer " + peer.shortHex() +
                        " voted for a shared state sync at ring revision " +
                        std::to_string(vote.group_revision) + ", the group is at " +
                        std::to_string(group_revision));
  }
  if (sync_ && (sync_->transferring || sync_->group_revision != group_revision)) {
    // The peer gave up on the running sync (its deadline passed) and began
    // the next: the others cannot complete it; they learn so at once.
    std::vector<EndpointId> others;
    for (const EndpointId& m : members) {
      if (m != peer) others.push_back(m);
    }
    finish(invalidUsage("peer " + peer.shortHex() + " began a new shared state sync before sync " +
                        std::to_string(sync_->id) + " ended (did its call time out?)"),
           others, out);
  }
  if (!sync_) {
    sync_.emplace();
    sync_->id = next_sync_++;
    sync_->group_revision = group_revision;
  }
  sync_->votes[peer] = vote;
  sync_->link_bytes_per_s = link_bytes_per_s;
  maybeDecide(members, out);
  return Status::ok();
}

void StateSyncArbiter::maybeDecide(const std::vector<EndpointId>& members,
                                   std::vector<Message>& out) {
  if (!sync_ || sync_->transferring) return;
  if (members.empty()) {
    sync_.reset();
    return;
  }
  std::vector<state::Voter> voters;
  for (const EndpointId& m : members) {
    auto vote = sync_->votes.find(m);
    if (vote == sync_->votes.end()) return;  // not everyone yet
    voters.push_back({m, &vote->second, synced_.count(m) > 0});
  }
  auto decision = state::decide(voters, last_revision_, sync_->link_bytes_per_s);
  if (!decision) {
    finish(decision.status(), members, out);
    return;
  }
  sync_->decision = std::move(*decision);
  sync_->transferring = true;
  std::vector<state::Need> needs;
  const auto& entries = sync_->decision.entries;
  for (uint32_t e = 0; e < entries.size(); ++e) {
    const state::EntryDecision& entry = entries[e];
    if (!entry.compared || entry.bytes == 0) continue;
    for (size_t r = 0; r < entry.receivers.size(); ++r) {
      state::Need need{entry.receivers[r], e, 0, entry.bytes, entry.holders, entry.codec};
      // Receivers and entries start at different holders, spreading the load.
      std::rotate(need.sources.begin(), need.sources.begin() + (r + e) % need.sources.size(),
                  need.sources.end());
      needs.push_back(std::move(need));
    }
  }
  startRound(std::move(needs), members, out);
}

void StateSyncArbiter::startRound(std::vector<state::Need> needs,
                                  const std::vector<EndpointId>& members,
                                  std::vector<Message>& out) {
  StateSyncRun& sync = *sync_;
  if (needs.empty()) {
    finish(Status::ok(), members, out);
    return;
  }
  if (sync.round == kMaxRounds) {
    finish(Status(Code::kPeerLost, "shared state sync gave up after " + std::to_string(kMaxRounds) +
                                       " transfer rounds: " + sync.first_failure),
           members, out);
    return;
  }
  ++sync.round;
  auto transfers = state::splitNeeds(needs, sync.next_transfer);
  if (sync.next_transfer > kMaxTransferIds) {
    finish(invalidUsage("shared state sync needs more than 2^24 transfers"), members, out);
    return;
  }
  std::map<EndpointId, StatePlan> plans;
  auto planOf = [&](const EndpointId& peer) -> StatePlan& {
    StatePlan& plan = plans[peer];
    plan.sync = sync.id;
    plan.round = sync.round;
    plan.kind = PlanKind::kRound;
    plan.state_revision = sync.decision.revision;
    return plan;
  };
  sync.transfers.clear();
  std::set<std::pair<EndpointId, uint32_t>> expected;  // (receiver, entry) already listed
  for (const auto& t : transfers) {
    sync.transfers[t.id] = t;
    planOf(t.from).transfers.push_back(t);
    StatePlan& receiver = planOf(t.to);
    receiver.transfers.push_back(t);
    if (expected.insert({t.to, t.entry}).second) {
      receiver.receive.push_back({t.entry, sync.decision.entries[t.entry].hash});
    }
  }
  for (auto& [peer, plan] : plans) {
    if (plan.transfers.size() > protocol::kMaxPlanTransfers) {
      finish(invalidUsage("shared state sync: peer " + peer.shortHex() + " would take part in " +
                          std::to_string(plan.transfers.size()) + " transfers, limit " +
                          std::to_string(protocol::kMaxPlanTransfers)),
             members, out);
      return;
    }
  }
  sync.awaiting.clear();
  sync.retry.clear();
  for (auto& [peer, plan] : plans) {
    sync.awaiting.insert(peer);
    out.push_back({peer, std::move(plan)});
  }
}

Status StateSyncArbiter::onDone(const EndpointId& peer, const protocol::StateDone& done,
                                const std::vector<EndpointId>& members, std::vector<Message>& out) {
  // A report of an earlier sync or round (or from a dropped member) is stale.
  if (!sync_ || !sync_->transferring || done.sync != sync_->id || done.round != sync_->round ||
      sync_->awaiting.count(peer) == 0) {
    return Status::ok();
  }
  StateSyncRun& sync = *sync_;
  const std::set<uint32_t> failed(done.failed_transfers.begin(), done.failed_transfers.end());
  const std::set<uint32_t> bad(done.bad_entries.begin(), done.bad_entries.end());
  std::set<uint32_t> received, broken, retried_whole;
  for (const auto& [id, t] : sync.transfers) {
    if (t.to != peer) continue;
    received.insert(t.entry);
    if (bad.count(t.entry) > 0) {
      // Which source sent the wrong bytes is unknown: none of them serves it again.
      sync.excluded[{peer, t.entry}].insert(t.from);
      broken.insert(t.entry);
      if (retried_whole.insert(t.entry).second) {
        sync.retry.push_back({peer, t.entry, 0, sync.decision.entries[t.entry].bytes, {}, t.codec});
      }
    } else if (failed.count(id) > 0) {
      sync.excluded[{peer, t.entry}].insert(t.from);
      broken.insert(t.entry);
      sync.retry.push_back({peer, t.entry, t.offset, t.bytes, {}, t.codec});
    }
  }
  // A receiver that completed an entry can serve it in later rounds.
  for (uint32_t entry : received) {
    if (broken.count(entry) == 0) sync.decision.entries[entry].holders.push_back(peer);
  }
  if (!broken.empty() && sync.first_failure.empty()) {
    sync.first_failure = done.reason.empty() ? "a transfer to peer " + peer.shortHex() + " failed"
                                             : protocol::printable(done.reason, 400);
  }
  sync.awaiting.erase(peer);
  maybeEndRound(members, out);
  return Status::ok();
}

void StateSyncArbiter::maybeEndRound(const std::vector<EndpointId>& members,
                                     std::vector<Message>& out) {
  StateSyncRun& sync = *sync_;
  if (!sync.awaiting.empty()) return;
  std::vector<state::Need> needs = std::move(sync.retry);
  for (state::Need& need : needs) {
    const auto& entry = sync.decision.entries[need.entry];
    const auto& excluded = sync.excluded[{need.receiver, need.entry}];
    for (const EndpointId& holder : entry.holders) {
      if (holder != need.receiver && excluded.count(holder) == 0 && isMember(members, holder)) {
        need.sources.push_back(holder);
      }
    }
    if (need.sources.empty()) {
      finish(Status(Code::kPeerLost, "shared state entry '" + entry.name +
                                         "' could not reach peer " + need.receiver.shortHex() +
                                         ": no other peer holding it is left (" +
                                         sync.first_failure + ")"),
             members, out);
      return;
    }
  }
  startRound(std::move(needs), members, out);
}

void StateSyncArbiter::onMemberGone(const EndpointId& peer, const std::vector<EndpointId>& members,
                                    std::vector<Message>& out) {
  synced_.erase(peer);
  if (!sync_) return;
  sync_->votes.erase(peer);
  if (!sync_->transferring) {
    maybeDecide(members, out);
    return;
  }
  for (auto& entry : sync_->decision.entries)
    std::erase(entry.holders, peer);
  std::erase_if(sync_->retry, [&](const state::Need& need) { return need.receiver == peer; });
  if (sync_->awaiting.erase(peer) > 0) maybeEndRound(members, out);
}

void StateSyncArbiter::finish(Status status, const std::vector<EndpointId>& members,
                              std::vector<Message>& out) {
  StatePlan plan;
  plan.sync = sync_->id;
  plan.round = sync_->round;
  plan.state_revision = sync_->decision.revision;
  if (status.isOk()) {
    plan.kind = PlanKind::kSucceeded;
    last_revision_ = sync_->decision.revision;
    synced_.clear();
    for (const auto& [peer, vote] : sync_->votes) {
      if (isMember(members, peer)) synced_.insert(peer);
    }
    ++succeeded_;
  } else {
    plan.kind = PlanKind::kFailed;
    plan.code = status.code();
    plan.text = status.message().substr(0, protocol::kMaxReason);
    ++failed_;
  }
  if (status.isOk()) planFetches(members);
  for (const EndpointId& m : members)
    out.push_back({m, plan});
  sync_.reset();
}

void StateSyncArbiter::onFetchRequest(const EndpointId& peer, protocol::StateFetchRequest request) {
  fetch_requests_[peer] = std::move(request);
}

void StateSyncArbiter::planFetches(const std::vector<EndpointId>& members) {
  const StateSyncRun& sync = *sync_;
  // Every member that voted holds the sync's result now.
  std::vector<EndpointId> sources;
  for (const EndpointId& m : members) {
    if (sync.votes.count(m) > 0) sources.push_back(m);
  }
  if (sources.empty()) return;  // keep the requests for a sync that has members
  const protocol::StateVote& reference = sync.votes.at(sources.front());
  uint32_t next_transfer = sync.next_transfer;
  for (auto& [fetcher, request] : fetch_requests_) {
    protocol::StateFetchPlan plan;
    plan.sync = sync.id;
    plan.state_revision = sync.decision.revision;
    plan.fetcher = fetcher;
    plan.fetch = request.fetch;  // echoed: the fetcher takes only its running fetch's plan
    protocol::StateVote wanted;
    wanted.entries = request.entries;
    const state::Voter pair[] = {{sources.front(), &reference, false}, {fetcher, &wanted, false}};
    if (Status same = state::checkShapes(pair); !same.isOk()) {
      plan.code = same.code();
      plan.text = ("the fetched shared state does not match the group's: " + same.message())
                      .substr(0, protocol::kMaxReason);
      fetch_plans_.push_back({fetcher, std::move(plan)});
      continue;
    }
    std::vector<state::Need> needs;
    for (uint32_t e = 0; e < sync.decision.entries.size(); ++e) {
      const state::EntryDecision& entry = sync.decision.entries[e];
      if (!entry.compared || entry.bytes == 0 || request.entries[e].hash == entry.hash) continue;
      state::Need need{fetcher, e, 0, entry.bytes, sources, entry.codec};
      std::rotate(need.sources.begin(), need.sources.begin() + e % sources.size(),
                  need.sources.end());
      needs.push_back(std::move(need));
      plan.receive.push_back({e, entry.hash});
    }
    plan.transfers = state::splitNeeds(needs, next_transfer);
    std::set<EndpointId> used;
    for (const protocol::StateTransfer& t : plan.transfers)
      used.insert(t.from);
    // The pace is the whole fetch's: each source sends its share of it.
    if (!used.empty() && request.bytes_per_s > 0) {
      plan.bytes_per_s =
          std::max<uint64_t>(1, (request.bytes_per_s + used.size() - 1) / used.size());
    }
    for (const EndpointId& source : used) {
      protocol::StateFetchPlan served = plan;
      served.receive.clear();
      std::erase_if(served.transfers,
                    [&](const protocol::StateTransfer& t) { return t.from != source; });
      fetch_plans_.push_back({source, std::move(served)});
    }
    fetch_plans_.push_back({fetcher, std::move(plan)});
  }
  fetch_requests_.clear();
}

}  // namespace eccl::membership
