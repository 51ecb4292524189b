// MasterState's pipeline stages: registration checks, loss and restoration
// events, recovery announcements, metrics and queries (the bookkeeping itself
// is stage_book.h).
#include "src/membership/master_state.h"
#include "src/protocol/messages.h"

namespace eccl::membership {

Status MasterState::checkStage(const protocol::Register& request) const {
  auto group = groups_.find(request.group);
  const bool has_peers =
      group != groups_.end() && !(group->second.accepted.empty() && group->second.pending.empty() &&
                                  group->second.fetching.empty());
  return stages_.check(request.group, request.stage, request.num_stages, has_peers);
}

void MasterState::stagePeerRemoved(int32_t stage, const Group& group, Outbox& out) {
  if (stage < 0) return;
  const bool empty = group.accepted.empty() && group.pending.empty() && group.fetching.empty();
  // The book forgets the pipeline with its last peer: take the name first.
  const StageBook::Stage* record = stages_.find(static_cast<uint32_t>(stage));
  const std::string name = record != nullptr ? record->group : group.name;
  auto lost = stages_.remove(stage, empty);
  if (!lost) return;
  ++counters_.stages_lost;
  sendStageEvent(protocol::StageEventKind::kLost, *lost, 0, name, out);
}

void MasterState::stageAccepted(const Group& group) {
  // A lost stage becomes recovering: no event before a peer announces that it
  // rebuilt the stage's weights (onStageAnnounce).
  if (!group.accepted.empty()) stages_.accepted(group.name);
}

void MasterState::sendStageEvent(protocol::StageEventKind kind, uint32_t stage, uint64_t round,
                                 const std::string& group, Outbox& out) const {
  const auto frame = protocol::encodeFrame(protocol::StageEvent{kind, stage, round, group});
  for (const auto& [id, peer] : peers_) {
    if (peer.stage >= 0) send(out, peer, frame);
  }
}

protocol::StageInfo MasterState::stageInfo(uint64_t request, uint32_t index) const {
  protocol::StageInfo info;
  info.request = request;
  info.stage = index;
  const StageBook::Stage* stage = stages_.find(index);
  if (stage == nullptr) return info;
  switch (stage->state) {
    case StageBook::State::kActive:
      info.state = protocol::StageState::kActive;
      break;
    case StageBook::State::kLost:
      info.state = protocol::StageState::kLost;
      break;
    case StageBook::State::kRecovering:
      info.state = protocol::StageState::kRecovering;
      break;
  }
  info.group = stage->group;
  auto group = groups_.find(stage->group);
  if (group != groups_.end()) info.accepted = static_cast<uint32_t>(group->second.accepted.size());
  if (stage->metric) {
    info.has_metric = true;
    info.metric_round = stage->metric->round;
    info.metric = stage->metric->value;
    info.metric_peer = stage->metric->peer;
  }
  return info;
}

Status MasterState::onStageMetric(const EndpointId& id, const protocol::StageMetric& metric,
                                  Outbox& /*out*/) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return Status::ok();
  const Peer& peer = it->second;
  if (peer.stage < 0) {
    return invalidUsage("peer " + id.shortHex() + " of group '" + peer.group +
                        "' is not a pipeline stage: it has no metric to report");
  }
  if (peer.state != protocol::PeerState::kAccepted) {
    return invalidUsage("peer " + id.shortHex() + " reported a metric for stage " +
                        std::to_string(peer.stage) + " before it was accepted into group '" +
                        peer.group + "'");
  }
  ++counters_.stage_metrics;
  stages_.report(peer.stage, id, metric.round, metric.value);
  return Status::ok();
}

Status MasterState::onStageQuery(const EndpointId& id, const protocol::StageQuery& query,
                                 Outbox& out) {
  auto asker = peers_.find(id);
  if (asker == peers_.end()) return Status::ok();
  ++counters_.stage_queries;
  send(out, asker->second, protocol::encodeFrame(stageInfo(query.request, query.stage)));
  return Status::ok();
}

Status MasterState::onStageAnnounce(const EndpointId& id, const protocol::StageAnnounce& announce,
                                    Outbox& out) {
  auto it = peers_.find(id);
  if (it == peers_.end()) return Status::ok();
  const Peer& peer = it->second;
  if (peer.stage < 0) {
    return invalidUsage("peer " + id.shortHex() + " of group '" + peer.group +
                        "' is not a pipeline stage: it has no stage to announce recovered");
  }
  if (peer.state != protocol::PeerState::kAccepted) {
    return invalidUsage("peer " + id.shortHex() + " announced stage " + std::to_string(peer.stage) +
                        " recovered before it was accepted into group '" + peer.group + "'");
  }
  ++counters_.stage_announcements;
  const auto index = static_cast<uint32_t>(peer.stage);
  if (stages_.announce(peer.stage)) {
    ++counters_.stages_restored;
    sendStageEvent(protocol::StageEventKind::kRestored, index, announce.round, peer.group, out);
  }
  // After the event: the announcer hears of the restoration before its answer.
  send(out, peer, protocol::encodeFrame(stageInfo(announce.request, index)));
  return Status::ok();
}

}  // namespace eccl::membership
