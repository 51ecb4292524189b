// MasterState's pipeline stages: registration checks, loss and restoration
// events, metrics and queries (the bookkeeping itself is stage_book.h).
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
  sendStageEvent(protocol::StageEventKind::kLost, *lost, name, out);
}

void MasterState::stageAccepted(const Group& group, Outbox& out) {
  if (group.accepted.empty() || !stages_.accepted(group.name)) return;
  ++counters_.stages_restored;
  const auto stage = static_cast<uint32_t>(peers_.at(group.accepted.front()).stage);
  sendStageEvent(protocol::StageEventKind::kRestored, stage, group.name, out);
}

void MasterState::sendStageEvent(protocol::StageEventKind kind, uint32_t stage,
                                 const std::string& group, Outbox& out) const {
  const auto frame = protocol::encodeFrame(protocol::StageEvent{kind, stage, group});
  for (const auto& [id, peer] : peers_) {
    if (peer.stage >= 0) send(out, peer, frame);
  }
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
  protocol::StageInfo info;
  info.request = query.request;
  info.stage = query.stage;
  if (const StageBook::Stage* stage = stages_.find(query.stage)) {
    info.state = stage->lost ? protocol::StageState::kLost : protocol::StageState::kActive;
    info.group = stage->group;
    auto group = groups_.find(stage->group);
    if (group != groups_.end())
      info.accepted = static_cast<uint32_t>(group->second.accepted.size());
    if (stage->metric) {
      info.has_metric = true;
      info.metric_round = stage->metric->round;
      info.metric = stage->metric->value;
      info.metric_peer = stage->metric->peer;
    }
  }
  send(out, asker->second, protocol::encodeFrame(info));
  return Status::ok();
}

}  // namespace eccl::membership
