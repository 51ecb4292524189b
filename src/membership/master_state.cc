#include "src/membership/master_state.h"

#include <algorithm>

#include "src/common/log.h"
#include "src/protocol/messages.h"

namespace eccl::membership {

using protocol::PeerEventKind;
using protocol::PeerState;

namespace {

bool zeroToken(const protocol::PeerToken& token) {
  return std::all_of(token.begin(), token.end(), [](uint8_t b) { return b == 0; });
}

std::string describe(const EndpointId& id) {
  return "peer " + id.shortHex();
}

// What Member and PeerAddress carry: all zero for a peer without a certificate.
protocol::CertificateFingerprint announced(
    const std::optional<transport::tls::CertFingerprint>& certificate) {
  return certificate ? *certificate : protocol::CertificateFingerprint{};
}

std::string describeCertificate(const std::optional<transport::tls::CertFingerprint>& certificate) {
  if (!certificate) return "none (plaintext)";
  return "sha256:" + transport::tls::formatFingerprint(*certificate);
}

void erase(std::vector<EndpointId>& list, const EndpointId& id) {
  list.erase(std::remove(list.begin(), list.end(), id), list.end());
}

bool contains(const std::vector<EndpointId>& list, const EndpointId& id) {
  return std::find(list.begin(), list.end(), id) != list.end();
}

}  // namespace

MasterState::MasterState(MasterSettings settings) : settings_(std::move(settings)) {}

MasterState::Group& MasterState::groupOf(const Peer& peer) {
  auto [it, inserted] = groups_.try_emplace(peer.group);
  if (inserted) it->second.name = peer.group;
  return it->second;
}

void MasterState::send(Outbox& out, const Peer& peer, std::vector<uint8_t> frame) const {
  out.push_back({peer.connection, std::move(frame), false});
}

void MasterState::broadcast(Outbox& out, const Group& group, const std::vector<uint8_t>& frame,
                            const EndpointId* except) const {
  for (const auto* list : {&group.accepted, &group.pending}) {
    for (const EndpointId& id : *list) {
      if (except != nullptr && id == *except) continue;
      auto it = peers_.find(id);
      if (it != peers_.end()) send(out, it->second, frame);
    }
  }
}

void MasterState::announce(Outbox& out, const Group& group,
                           const std::vector<uint8_t>& frame) const {
  for (const EndpointId& id : group.accepted) {
    auto it = peers_.find(id);
    if (it != peers_.end()) send(out, it->second, frame);
  }
}

void MasterState::markStatusChanged(const Group& group) {
  status_changed_.insert(group.name);
}

void MasterState::forgiveStall(Clock::duration stall) {
  for (auto& [id, peer] : peers_)
    peer.last_heartbeat += stall;
}

void MasterState::broadcastStatus(Outbox& out, const Group& group) const {
  protocol::GroupStatus status;
  status.pending = static_cast<uint32_t>(group.pending.size());
  status.accepted = static_cast<uint32_t>(group.accepted.size());
  status.revision = group.revision;
  broadcast(out, group, protocol::encodeFrame(status));
}

Result<EndpointId> MasterState::onRegister(
    ConnectionId connection, const protocol::Register& request,
    const std::optional<transport::tls::CertFingerprint>& certificate, Clock::time_point now,
    Outbox& out) {
  if (request.peer.isZero()) {
    ++counters_.rejected_registrations;
    return invalidArgument("registration without a peer id");
  }
  if (request.group.empty()) {
    ++counters_.rejected_registrations;
    return invalidArgument("registration without a group name");
  }
  const bool rejoining = !zeroToken(request.token);
  if (rejoining && !tokenMatches(settings_.token_key, request.peer, request.token)) {
    ++counters_.rejected_registrations;
    return invalidUsage(describe(request.peer) + " presented a token this master did not issue");
  }
  auto existing = peers_.find(request.peer);
  if (existing != peers_.end()) {
    if (!rejoining) {
      ++counters_.rejected_registrations;
      return invalidUsage(describe(request.peer) + " is already registered (id claimed twice)");
    }
    // The same peer on a new connection (its old one is half-open or gone): take over.
    Peer& peer = existing->second;
    if (peer.certificate != certificate) {
      ++counters_.rejected_registrations;
      return authError(describe(request.peer) + " registered with certificate " +
                       describeCertificate(peer.certificate) + " and cannot take over with " +
                       describeCertificate(certificate));
    }
    if (peer.connection != connection) out.push_back({peer.connection, {}, true});
    peer.connection = connection;
    peer.last_heartbeat = now;
    const Group& group = groupOf(peer);
    protocol::Registered reply;
    reply.peer = peer.id;
    reply.token = request.token;
    reply.incarnation = settings_.incarnation;
    reply.heartbeat_ms = static_cast<uint32_t>(settings_.heartbeat.count());
    reply.miss_limit = settings_.miss_limit;
    reply.state = peer.state;
    reply.revision = group.revision;
    send(out, peer, protocol::encodeFrame(reply));
    ++counters_.registrations;
    return peer.id;
  }
  if (Status fits = checkStage(request); !fits.isOk()) {
    ++counters_.rejected_registrations;
    return fits;
  }
  auto past_evictions = checkRejoinBackoff(request, now);
  if (!past_evictions) {
    ++counters_.rejected_registrations;
    ++counters_.rejoins_refused;
    return past_evictions.status();
  }

  Peer peer;
  peer.id = request.peer;
  peer.connection = connection;
  peer.group = request.group;
  peer.host = request.host;
  peer.port = request.data_port;
  peer.state = PeerState::kPending;
  peer.last_heartbeat = now;
  peer.stage = request.stage;
  peer.evictions = *past_evictions;
  peer.certificate = certificate;
  auto& stored = peers_.emplace(peer.id, std::move(peer)).first->second;
  stages_.add(stored.group, request.stage, request.num_stages);
  Group& group = groupOf(stored);
  const bool restored = rejoining && restoreAccepted(stored, request, now);
  // A fetcher of a group with members waits for its snapshot before it
  // counts as pending; in an empty group there is nothing to fetch.
  const bool fetching = !restored && (request.flags & protocol::Register::kFlagFetchState) != 0 &&
                        !group.accepted.empty();
  if (fetching) {
    group.fetching.push_back(stored.id);
  } else if (!restored) {
    group.pending.push_back(stored.id);
  }
  ++counters_.registrations;

  protocol::Registered reply;
  reply.peer = stored.id;
  reply.token = makeToken(settings_.token_key, stored.id);
  reply.incarnation = settings_.incarnation;
  reply.heartbeat_ms = static_cast<uint32_t>(settings_.heartbeat.count());
  reply.miss_limit = settings_.miss_limit;
  reply.state = stored.state;
  reply.revision = group.revision;
  send(out, stored, protocol::encodeFrame(reply));

  if (!restored) {
    protocol::PeerEvent joined{PeerEventKind::kJoined, stored.id, group.revision};
    announce(out, group, protocol::encodeFrame(joined));
  } else {
    stageAccepted(group);
  }
  markStatusChanged(group);
  maybeReconfigure(group, now, out);
  return stored.id;
}

bool MasterState::restoreAccepted(Peer& peer, const protocol::Register& request,
                                  Clock::time_point now) {
  if (request.state != PeerState::kAccepted || request.world_size == 0 ||
      request.rank >= request.world_size || removed_.count(peer.id) != 0) {
    return false;
  }
  Group& group = groupOf(peer);
  const bool fresh = group.revision == 0 && group.accepted.empty() && !group.reconfiguration;
  if (fresh) {
    // The first member back after a restart defines the ring everyone else must match.
    group.revision = request.revision;
    group.last_attempt = std::max(group.last_attempt, request.revision);
    group.rebuild = Rebuild{request.world_size, {}, now + settings_.rebuild_grace};
  }
  // Only a report that agrees with the ring being rebuilt restores a place in it;
  // anything else (a ring that moved on meanwhile) joins again as a new peer.
  if (!group.rebuild || group.revision != request.revision ||
      group.rebuild->world_size != request.world_size ||
      group.rebuild->ranks.count(request.rank) != 0) {
    return false;
  }
  group.rebuild->ranks.emplace(request.rank, peer.id);
  group.accepted.clear();
  for (const auto& [rank, id] : group.rebuild->ranks)
    group.accepted.push_back(id);
  peer.state = PeerState::kAccepted;
  peer.last_heartbeat = now;
  if (group.accepted.size() == group.rebuild->world_size) group.rebuild.reset();
  return true;
}

void MasterState::rememberRemoved(const EndpointId& id) {
  constexpr size_t kRemembered = 65'536;
  if (!removed_.insert(id).second) return;
  removed_order_.push_back(id);
  if (removed_order_.size() > kRemembered) {
    removed_.erase(removed_order_.front());
    removed_order_.pop_front();
  }
}

void MasterState::rememberEviction(const Peer& peer, Clock::time_point now) {
  constexpr size_t kRemembered = 65'536;
  std::erase_if(evictions_, [&](const auto& entry) { return entry.second.forget_at <= now; });
  if (evictions_.size() >= kRemembered) {
    evictions_.erase(std::min_element(evictions_.begin(), evictions_.end(), [](auto& a, auto& b) {
      return a.second.forget_at < b.second.forget_at;
    }));
  }
  Eviction eviction;
  eviction.group = peer.group;
  eviction.evictions = peer.evictions + 1;
  // rejoin_backoff doubled per earlier eviction, capped (doubling stops at the cap: no overflow).
  auto backoff = settings_.rejoin_backoff;
  for (uint32_t i = 1; i < eviction.evictions && backoff < settings_.rejoin_backoff_max; ++i)
    backoff *= 2;
  backoff = std::min(backoff, settings_.rejoin_backoff_max);
  eviction.rejoin_at = now + backoff;
  eviction.forget_at = eviction.rejoin_at + settings_.rejoin_backoff_max;
  evictions_[peer.id] = std::move(eviction);
}

Result<uint32_t> MasterState::checkRejoinBackoff(const protocol::Register& request,
                                                 Clock::time_point now) {
  if ((request.flags & protocol::Register::kFlagEvictedBefore) == 0) return uint32_t{0};
  // A token this master did not issue (one restarted with another key) proves
  // nothing: nothing to apply.
  if (!tokenMatches(settings_.token_key, request.evicted_as, request.evicted_token)) {
    return uint32_t{0};
  }
  auto it = evictions_.find(request.evicted_as);
  if (it == evictions_.end() || it->second.forget_at <= now) return uint32_t{0};
  if (now < it->second.rejoin_at) {
    const auto wait = std::chrono::ceil<std::chrono::milliseconds>(it->second.rejoin_at - now);
    return invalidUsage("peer " + request.evicted_as.shortHex() +
                        " of this process was evicted from group '" + it->second.group +
                        "' (eviction " + std::to_string(it->second.evictions) +
                        "); it may register again in " + std::to_string(wait.count()) + " ms");
  }
  const uint32_t evictions = it->second.evictions;
  evictions_.erase(it);  // the new peer carries the count on
  return evictions;
}

Status MasterState::onHeartbeat(const EndpointId& id, const protocol::Heartbeat& beat,
                                Clock::time_point now, Outbox& out) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return invalidUsage("heartbeat from an unknown peer");
  Peer& peer = it->second;
  peer.last_heartbeat = now;
  peer.ops_completed = beat.ops_completed;
  ++peer.heartbeats;
  ++counters_.heartbeats;
  send(out, peer, protocol::encodeFrame(protocol::HeartbeatAck{beat.seq}));
  return Status::ok();
}

Status MasterState::onPeerReport(const EndpointId& id, const protocol::PeerReport& report,
                                 Clock::time_point now) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return invalidUsage("peer report from an unknown peer");
  const Peer& peer = it->second;
  const Group& group = groupOf(peer);
  // A report sent before the peer heard of its ring's newest revision describes the old one.
  if (peer.state != protocol::PeerState::kAccepted || report.revision != group.revision) {
    return Status::ok();
  }
  ++counters_.peer_reports;
  monitor_.onReport(id, peer.group, report, now);
  return Status::ok();
}

void MasterState::updateVoteWaits(Clock::time_point now) {
  std::map<EndpointId, Clock::duration> waits;
  for (const auto& [name, group] : groups_) {
    if (group.reconfiguration || group.votes.empty() || group.accepted.size() < 2) continue;
    std::vector<EndpointId> missing;
    Clock::time_point last_vote = Clock::time_point::min();
    for (const EndpointId& id : group.accepted) {
      auto vote = group.votes.find(id);
      if (vote == group.votes.end()) {
        missing.push_back(id);
      } else {
        last_vote = std::max(last_vote, vote->second);
      }
    }
    // Only a round that every other member voted in waits on the missing ones.
    if (missing.empty() || missing.size() == group.accepted.size()) continue;
    for (const EndpointId& id : missing)
      waits[id] = now - last_vote;
  }
  monitor_.setVoteWaits(std::move(waits));
}

void MasterState::actOnAnomalies(Clock::time_point now, Outbox& out) {
  updateVoteWaits(now);
  for (const anomaly::Finding& finding : monitor_.check(now)) {
    // Slow and frozen links are reported only.
    const bool evict =
        (finding.kind == anomaly::AnomalyKind::kHungPeer && settings_.evict_hung) ||
        (finding.kind == anomaly::AnomalyKind::kStraggler && settings_.evict_stragglers) ||
        (finding.kind == anomaly::AnomalyKind::kSlowNode && settings_.evict_slow_nodes);
    // "anomaly KIND: ..." is what eccl-stress counts (tools/eccl-stress/master_findings.h).
    ECCL_LOG_WARN("anomaly {}: {}", anomaly::anomalyKindName(finding.kind), finding.evidence);
    // The group hears of it first (an eviction's PeerEvent comes after).
    if (auto group = groups_.find(finding.group); group != groups_.end()) {
      protocol::AnomalyEvent event;
      event.kind = finding.kind;
      event.peer = finding.peer;
      event.link_to = finding.link_to;
      event.revision = group->second.revision;
      event.value = finding.value;
      event.threshold = finding.threshold;
      announce(out, group->second, protocol::encodeFrame(event));
    }
    if (!evict) continue;
    auto peer = peers_.find(finding.peer);
    if (peer == peers_.end()) continue;
    auto last = last_anomaly_eviction_.find(finding.group);
    if (last != last_anomaly_eviction_.end() && now - last->second < settings_.eviction_cooldown) {
      ECCL_LOG_WARN("anomaly: peer {} is not evicted: group \"{}\" evicted one less than {} ms ago",
                    finding.peer.shortHex(), finding.group, settings_.eviction_cooldown.count());
      continue;
    }
    last_anomaly_eviction_[finding.group] = now;
    ++counters_.anomaly_evictions;
    ECCL_LOG_WARN("anomaly: evicting peer {} ({})", finding.peer.shortHex(),
                  anomaly::anomalyKindName(finding.kind));
    remove(finding.peer, Removal::kEvicted, now, out);
  }
}

Status MasterState::onVote(const EndpointId& id, const protocol::TopologyVote& vote,
                           Clock::time_point now, Outbox& out) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return invalidUsage("vote from an unknown peer");
  Peer& peer = it->second;
  Group& group = groupOf(peer);
  if (peer.state != PeerState::kAccepted) {
    return invalidUsage(describe(id) + " voted for a topology update before it was accepted");
  }
  if (vote.revision != group.revision) {
    return invalidUsage(describe(id) + " voted at revision " + std::to_string(vote.revision) +
                        ", the group is at " + std::to_string(group.revision));
  }
  ++counters_.votes;
  group.votes.emplace(id, now);
  maybeReconfigure(group, now, out);
  return Status::ok();
}

void MasterState::maybeReconfigure(Group& group, Clock::time_point now, Outbox& out) {
  if (group.reconfiguration) return;
  // A ring being rebuilt after a restart waits for its members (see tick()).
  if (group.rebuild && now < group.rebuild->deadline) return;
  if (group.accepted.empty() && now < settings_.hold_first_rings_until) return;
  group.rebuild.reset();
  if (group.accepted.empty() && group.pending.empty()) return;
  for (const EndpointId& id : group.accepted) {
    if (group.votes.count(id) == 0) return;  // not unanimous yet
  }
  // The ring waited for each member's vote from the round's first one: the
  // straggler detector counts it (a trainer that updates before each step
  // makes its ring wait there, not in a collective).
  if (group.accepted.size() >= 2) {
    Clock::time_point first = Clock::time_point::max();
    for (const EndpointId& id : group.accepted)
      first = std::min(first, group.votes.at(id));
    for (const EndpointId& id : group.accepted)
      monitor_.onVoteLateness(id, group.name, group.votes.at(id) - first, now);
  }
  std::vector<EndpointId> members = group.accepted;
  members.insert(members.end(), group.pending.begin(), group.pending.end());
  startReconfiguration(group, std::move(members), now, out);
}

void MasterState::startReconfiguration(Group& group, std::vector<EndpointId> members,
                                       Clock::time_point now, Outbox& out) {
  if (members.empty()) {
    group.reconfiguration.reset();
    return;
  }
  Reconfiguration reconfiguration;
  group.last_attempt = std::max(group.last_attempt, group.revision) + 1;
  reconfiguration.revision = group.last_attempt;
  reconfiguration.members = std::move(members);
  reconfiguration.deadline = now + settings_.channel_setup_timeout;

  protocol::Topology topology;
  topology.revision = reconfiguration.revision;
  for (const EndpointId& id : reconfiguration.members) {
    const Peer& peer = peers_.at(id);
    topology.members.push_back({peer.id, peer.host, peer.port, announced(peer.certificate)});
  }
  topology.departed = group.departed;
  const auto frame = protocol::encodeFrame(topology);
  for (const EndpointId& id : reconfiguration.members)
    send(out, peers_.at(id), frame);
  group.reconfiguration = std::move(reconfiguration);
}

Status MasterState::onChannelsReady(const EndpointId& id, const protocol::ChannelsReady& ready,
                                    Clock::time_point /*now*/, Outbox& out) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return invalidUsage("ChannelsReady from an unknown peer");
  Group& group = groupOf(it->second);
  auto& reconfiguration = group.reconfiguration;
  // A report for an attempt that was superseded (a member was lost meanwhile) is stale: ignore it.
  if (!reconfiguration || reconfiguration->revision != ready.revision) return Status::ok();
  if (!contains(reconfiguration->members, id)) {
    return invalidUsage(describe(id) + " is not a member of revision " +
                        std::to_string(ready.revision));
  }
  reconfiguration->ready.insert(id);
  if (reconfiguration->ready.size() == reconfiguration->members.size()) commit(group, out);
  return Status::ok();
}

void MasterState::commit(Group& group, Outbox& out) {
  Reconfiguration done = std::move(*group.reconfiguration);
  group.reconfiguration.reset();
  group.revision = done.revision;
  for (const EndpointId& id : done.members) {
    erase(group.pending, id);
    peers_.at(id).state = PeerState::kAccepted;
  }
  group.accepted = done.members;
  group.votes.clear();
  group.departed.clear();
  ++counters_.commits;
  std::vector<OutcomeArbiter::Message> verdicts;
  arbiter_.onCommit(group.name, group.revision, verdicts);
  sendVerdicts(verdicts, out);
  // The status first: a peer whose update returns at the commit then already
  // counts the pending peers of the new ring (not itself).
  broadcastStatus(out, group);
  status_changed_.erase(group.name);
  const auto frame = protocol::encodeFrame(protocol::TopologyCommit{group.revision});
  for (const EndpointId& id : group.accepted)
    send(out, peers_.at(id), frame);
  stageAccepted(group);
}

void MasterState::onLeave(const EndpointId& id, Clock::time_point now, Outbox& out) {
  if (peers_.count(id) != 0) remove(id, Removal::kLeft, now, out);
}

void MasterState::onConnectionClosed(const EndpointId& id, ConnectionId connection,
                                     Clock::time_point now, Outbox& out) {
  auto it = peers_.find(id);
  if (it == peers_.end() || it->second.connection != connection) return;
  remove(id, Removal::kLost, now, out);
}

void MasterState::remove(const EndpointId& id, Removal why, Clock::time_point now, Outbox& out) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return;
  const ConnectionId connection = it->second.connection;
  dropGroupFetch(id);
  Group& group = groupOf(it->second);
  const bool was_accepted = contains(group.accepted, id);
  erase(group.accepted, id);
  erase(group.pending, id);
  erase(group.fetching, id);
  group.state_sync.onFetcherGone(id);
  group.votes.erase(id);
  if (was_accepted) group.departed.push_back(id);
  if (group.rebuild) {
    std::erase_if(group.rebuild->ranks, [&](const auto& entry) { return entry.second == id; });
  }
  const int32_t stage = it->second.stage;
  if (why == Removal::kEvicted) rememberEviction(it->second, now);
  peers_.erase(it);
  monitor_.forget(id);
  rememberRemoved(id);
  PeerEventKind kind = PeerEventKind::kLost;
  switch (why) {
    case Removal::kLost:
      ++counters_.losses;
      break;
    case Removal::kLeft:
      kind = PeerEventKind::kLeft;
      ++counters_.leaves;
      break;
    case Removal::kEvicted:
      kind = PeerEventKind::kEvicted;
      ++counters_.evictions;
      break;
  }
  // The master drops the connection of a lost or evicted peer (it may be frozen, not dead).
  if (why != Removal::kLeft) out.push_back({connection, {}, true});
  announce(out, group, protocol::encodeFrame(protocol::PeerEvent{kind, id, group.revision}));
  notifyWatchers(id, kind, out);
  stagePeerRemoved(stage, group, out);
  markStatusChanged(group);
  std::vector<OutcomeArbiter::Message> verdicts;
  arbiter_.onDeparted(group.name, id, verdicts);
  sendVerdicts(verdicts, out);
  if (was_accepted) {
    std::vector<StateSyncArbiter::Message> plans;
    group.state_sync.onMemberGone(id, group.accepted, plans);
    sendStatePlans(group, plans, out);
  }
  if (group.accepted.empty()) {
    releaseFetchers(group, out);
    releaseGroupFetchers(group, out);
  }

  if (group.reconfiguration && contains(group.reconfiguration->members, id)) {
    // The ring being set up lost a member: set up another without it (and with
    // whoever registered meanwhile).
    std::vector<EndpointId> members = group.reconfiguration->members;
    erase(members, id);
    for (const EndpointId& pending : group.pending) {
      if (!contains(members, pending)) members.push_back(pending);
    }
    group.reconfiguration.reset();
    startReconfiguration(group, std::move(members), now, out);
  } else {
    maybeReconfigure(group, now, out);
  }
  if (group.accepted.empty() && group.pending.empty() && group.fetching.empty() &&
      !group.reconfiguration) {
    groups_.erase(group.name);
  }
}

Status MasterState::onOpReport(const EndpointId& id, const protocol::OpReport& report,
                               Outbox& out) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return Status::ok();
  Group& group = groupOf(it->second);
  if (!contains(group.accepted, id)) {
    return invalidUsage("an op report from a peer that is not a member of group '" + group.name +
                        "'s ring");
  }
  ++counters_.op_reports;
  std::vector<OutcomeArbiter::Message> verdicts;
  arbiter_.onReport(group.name, group.revision, group.accepted, id, report, verdicts);
  sendVerdicts(verdicts, out);
  return Status::ok();
}

void MasterState::sendVerdicts(const std::vector<OutcomeArbiter::Message>& messages,
                               Outbox& out) const {
  for (const auto& message : messages) {
    auto peer = peers_.find(message.to);
    if (peer != peers_.end()) send(out, peer->second, protocol::encodeFrame(message.verdict));
  }
}

Status MasterState::onStateVote(const EndpointId& id, const protocol::StateVote& vote,
                                Outbox& out) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return Status::ok();
  Group& group = groupOf(it->second);
  std::vector<StateSyncArbiter::Message> plans;
  Status status = group.state_sync.onVote(id, vote, group.revision, group.accepted, plans,
                                          settings_.state_link_bytes_per_s);
  sendStatePlans(group, plans, out);
  return status;
}

Status MasterState::onStateDone(const EndpointId& id, const protocol::StateDone& done,
                                Outbox& out) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return Status::ok();
  Group& group = groupOf(it->second);
  std::vector<StateSyncArbiter::Message> plans;
  Status status = group.state_sync.onDone(id, done, group.accepted, plans);
  sendStatePlans(group, plans, out);
  return status;
}

Status MasterState::onStateFetchRequest(const EndpointId& id,
                                        const protocol::StateFetchRequest& request, Outbox& out) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return Status::ok();
  if (isGroupFetch(it->second, request)) return onGroupFetchRequest(it->second, request, out);
  Group& group = groupOf(it->second);
  if (!contains(group.fetching, id)) {
    // Pending or accepted already (its group had no members): nothing to fetch.
    protocol::StateFetchPlan empty;
    empty.fetcher = id;
    empty.fetch = request.fetch;
    send(out, it->second, protocol::encodeFrame(empty));
    return Status::ok();
  }
  group.state_sync.onFetchRequest(id, request);
  return Status::ok();
}

Status MasterState::onStateFetchDone(const EndpointId& id, const protocol::StateFetchDone& done,
                                     Clock::time_point now, Outbox& out) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return Status::ok();
  // A fetch of another group's state (numbered from 1) ends; it admits nothing.
  if (done.fetch != 0) {
    endGroupFetch(id, done.fetch);
    return Status::ok();
  }
  Group& group = groupOf(it->second);
  if (!contains(group.fetching, id)) return Status::ok();
  erase(group.fetching, id);
  group.state_sync.onFetcherGone(id);
  group.pending.push_back(id);
  markStatusChanged(group);
  // Like a registration: a group that waits for nobody else admits it now.
  maybeReconfigure(group, now, out);
  return Status::ok();
}

void MasterState::releaseFetchers(Group& group, Outbox& out) {
  for (const EndpointId& id : group.fetching) {
    group.state_sync.onFetcherGone(id);
    group.pending.push_back(id);
    protocol::StateFetchPlan empty;
    empty.fetcher = id;  // fetch 0: a joiner's fetch
    send(out, peers_.at(id), protocol::encodeFrame(empty));
  }
  if (!group.fetching.empty()) markStatusChanged(group);
  group.fetching.clear();
}

void MasterState::sendStatePlans(Group& group, std::vector<StateSyncArbiter::Message>& plans,
                                 Outbox& out) {
  for (auto& fetch : group.state_sync.takeFetchPlans()) {
    auto to = peers_.find(fetch.to);
    if (to == peers_.end()) continue;
    if (fetch.to == fetch.plan.fetcher && fetch.plan.code == Code::kOk) ++counters_.state_fetches;
    std::set<EndpointId> involved{fetch.plan.fetcher};
    for (const auto& t : fetch.plan.transfers)
      involved.insert(t.from);
    for (const EndpointId& peer : involved) {
      auto found = peers_.find(peer);
      if (found != peers_.end()) {
        fetch.plan.addresses.push_back({peer, found->second.host, found->second.port});
      }
    }
    send(out, to->second, protocol::encodeFrame(fetch.plan));
  }
  uint64_t last_final = 0;  // one count per sync, not per member told
  for (auto& message : plans) {
    const auto& plan = message.plan;
    if (plan.kind != protocol::PlanKind::kRound && plan.sync != last_final) {
      last_final = plan.sync;
      ++(plan.kind == protocol::PlanKind::kSucceeded ? counters_.state_syncs
                                                     : counters_.state_syncs_failed);
    }
    auto peer = peers_.find(message.to);
    if (peer != peers_.end()) send(out, peer->second, protocol::encodeFrame(plan));
  }
}

Status MasterState::onPeerLookup(const EndpointId& id, const protocol::PeerLookup& lookup,
                                 Outbox& out) {
  auto asker = peers_.find(id);
  if (asker == peers_.end()) return Status::ok();
  ++counters_.lookups;
  protocol::PeerAddress answer;
  answer.request = lookup.request;
  const Peer* found = nullptr;
  if (!lookup.peer.isZero()) {
    answer.peer = lookup.peer;
    auto it = peers_.find(lookup.peer);
    if (it != peers_.end()) found = &it->second;
  } else {
    answer.group = lookup.group;
    answer.rank = lookup.rank;
    auto group = groups_.find(lookup.group);
    if (group != groups_.end() && lookup.rank < group->second.accepted.size()) {
      found = &peers_.at(group->second.accepted[lookup.rank]);
    }
  }
  if (found == nullptr) {
    answer.result = protocol::LookupResult::kUnknown;
  } else if (found->state != protocol::PeerState::kAccepted) {
    answer.result = protocol::LookupResult::kNotAccepted;
    answer.peer = found->id;
    answer.group = found->group;
    answer.certificate = announced(found->certificate);
  } else {
    const Group& group = groupOf(*found);
    answer.result = protocol::LookupResult::kFound;
    answer.peer = found->id;
    answer.group = found->group;
    answer.rank =
        static_cast<uint32_t>(std::find(group.accepted.begin(), group.accepted.end(), found->id) -
                              group.accepted.begin());
    answer.host = found->host;
    answer.port = found->port;
    answer.certificate = announced(found->certificate);
    // Peers of its own group hear of its departure anyway.
    if (found->group != asker->second.group && found->id != id) {
      watchers_[found->id].insert(id);
      watching_[id].insert(found->id);
    }
  }
  send(out, asker->second, protocol::encodeFrame(answer));
  return Status::ok();
}

void MasterState::notifyWatchers(const EndpointId& id, PeerEventKind kind, Outbox& out) {
  if (auto watched = watching_.find(id); watched != watching_.end()) {
    for (const EndpointId& other : watched->second) {
      auto it = watchers_.find(other);
      if (it == watchers_.end()) continue;
      it->second.erase(id);
      if (it->second.empty()) watchers_.erase(it);
    }
    watching_.erase(watched);
  }
  auto it = watchers_.find(id);
  if (it == watchers_.end()) return;
  const auto frame = protocol::encodeFrame(protocol::PeerEvent{kind, id, 0});
  for (const EndpointId& asker : it->second) {
    auto peer = peers_.find(asker);
    if (peer != peers_.end()) send(out, peer->second, frame);
    auto reverse = watching_.find(asker);
    if (reverse != watching_.end()) {
      reverse->second.erase(id);
      if (reverse->second.empty()) watching_.erase(reverse);
    }
  }
  watchers_.erase(it);
}

void MasterState::tick(Clock::time_point now, Outbox& out) {
  // Group counts go out once per tick, not once per registration: a storm of
  // joins would otherwise cost a frame to every member per joiner.
  for (const std::string& name : status_changed_) {
    auto it = groups_.find(name);
    if (it != groups_.end()) broadcastStatus(out, it->second);
  }
  status_changed_.clear();

  const auto silence_limit = settings_.heartbeat * settings_.miss_limit;
  std::vector<EndpointId> lost;
  for (const auto& [id, peer] : peers_) {
    if (now - peer.last_heartbeat > silence_limit) lost.push_back(id);
  }
  for (const EndpointId& id : lost)
    remove(id, Removal::kLost, now, out);

  std::vector<EndpointId> evicted;
  for (const auto& [name, group] : groups_) {
    if (!group.reconfiguration || now < group.reconfiguration->deadline) continue;
    for (const EndpointId& id : group.reconfiguration->members) {
      if (group.reconfiguration->ready.count(id) == 0) evicted.push_back(id);
    }
  }
  for (const EndpointId& id : evicted)
    remove(id, Removal::kEvicted, now, out);

  actOnAnomalies(now, out);

  // Rings whose missing members did not come back in time carry on without
  // them; groups held at start-up may form their first ring now.
  std::vector<std::string> due;
  for (const auto& [name, group] : groups_) {
    const bool rebuild_over = group.rebuild && now >= group.rebuild->deadline;
    const bool first_ring = group.accepted.empty() && !group.pending.empty() &&
                            !group.reconfiguration && now >= settings_.hold_first_rings_until;
    if (rebuild_over || first_ring) due.push_back(name);
  }
  for (const std::string& name : due) {
    auto it = groups_.find(name);
    if (it != groups_.end()) maybeReconfigure(it->second, now, out);
  }
}

MasterSnapshot MasterState::snapshot(Clock::time_point now) const {
  MasterSnapshot snapshot;
  snapshot.incarnation = settings_.incarnation;
  snapshot.counters = counters_;
  // The detectors count their findings themselves.
  snapshot.counters.hung_peers = monitor_.found(anomaly::AnomalyKind::kHungPeer);
  snapshot.counters.stragglers = monitor_.found(anomaly::AnomalyKind::kStraggler);
  snapshot.counters.slow_links = monitor_.found(anomaly::AnomalyKind::kSlowLink);
  snapshot.counters.slow_nodes = monitor_.found(anomaly::AnomalyKind::kSlowNode);
  snapshot.counters.frozen_links = monitor_.found(anomaly::AnomalyKind::kFrozenLink);
  for (const auto& [id, peer] : peers_) {
    PeerView view;
    view.id = id;
    view.group = peer.group;
    view.address = peer.host + ":" + std::to_string(peer.port);
    view.state = peer.state;
    const auto& accepted = groups_.at(peer.group).accepted;
    auto rank = std::find(accepted.begin(), accepted.end(), id);
    view.rank = rank == accepted.end() ? -1 : static_cast<int>(rank - accepted.begin());
    view.heartbeat_age =
        std::chrono::duration_cast<std::chrono::milliseconds>(now - peer.last_heartbeat);
    view.heartbeats = peer.heartbeats;
    view.ops_completed = peer.ops_completed;
    view.stage = peer.stage;
    snapshot.peers.push_back(std::move(view));
  }
  for (const auto& [name, group] : groups_) {
    snapshot.groups.push_back({name, group.revision, group.accepted.size(), group.pending.size(),
                               group.votes.size(), group.reconfiguration.has_value(),
                               group.fetching.size()});
  }
  snapshot.health = monitor_.peers(now);
  snapshot.links = monitor_.links(now);
  snapshot.findings.assign(monitor_.recent().begin(), monitor_.recent().end());
  snapshot.pipeline_stages = stages_.numStages();
  for (const auto& [index, stage] : stages_.stages()) {
    StageView view;
    view.stage = index;
    view.group = stage.group;
    view.state = stage.state;
    auto group = groups_.find(stage.group);
    view.accepted = group == groups_.end() ? 0 : group->second.accepted.size();
    view.has_metric = stage.metric.has_value();
    if (stage.metric) {
      view.metric_round = stage.metric->round;
      view.metric = stage.metric->value;
      view.metric_peer = stage.metric->peer;
    }
    snapshot.stages.push_back(std::move(view));
  }
  return snapshot;
}

}  // namespace eccl::membership
