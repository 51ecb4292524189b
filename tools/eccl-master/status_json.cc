#include "tools/eccl-master/status_json.h"

#include <algorithm>
#include <tuple>

#include "src/anomaly/running_phase.h"
#include "src/coll/op_progress.h"
#include "tools/eccl-master/peer_state_name.h"

namespace eccl::tools::master {
namespace {

nlohmann::json peerJson(const membership::PeerView& peer) {
  return {{"id", peer.id.toHex()},
          {"state", peerStateName(peer.state)},
          {"group", peer.group},
          {"rank", peer.rank},
          {"address", peer.address},
          {"heartbeat_age_ms", peer.heartbeat_age.count()},
          {"heartbeats", peer.heartbeats},
          {"ops_completed", peer.ops_completed},
          {"stage", peer.stage}};
}

nlohmann::json groupJson(const membership::GroupView& group) {
  return {{"name", group.name},         {"revision", group.revision},
          {"accepted", group.accepted}, {"pending", group.pending},
          {"votes", group.votes},       {"reconfiguring", group.reconfiguring},
          {"fetching", group.fetching}};
}

// A stage's state ("active", "lost" or "recovering"; "lost" is true in the
// second only); its latest metric is null until one was reported.
nlohmann::json stageJson(const membership::StageView& stage) {
  nlohmann::json metric = nullptr;
  if (stage.has_metric) {
    metric = {{"round", stage.metric_round},
              {"value", stage.metric},
              {"peer", stage.metric_peer.toHex()}};
  }
  return {{"stage", stage.stage},
          {"group", stage.group},
          {"state", membership::StageBook::stateName(stage.state)},
          {"lost", stage.state == membership::StageBook::State::kLost},
          {"accepted", stage.accepted},
          {"metric", metric}};
}

nlohmann::json countersJson(const membership::MasterCounters& c) {
  return {{"registrations", c.registrations},
          {"rejected_registrations", c.rejected_registrations},
          {"heartbeats", c.heartbeats},
          {"votes", c.votes},
          {"commits", c.commits},
          {"losses", c.losses},
          {"leaves", c.leaves},
          {"evictions", c.evictions},
          {"peer_lookups", c.lookups},
          {"op_reports", c.op_reports},
          {"state_syncs", c.state_syncs},
          {"state_syncs_failed", c.state_syncs_failed},
          {"state_fetches", c.state_fetches},
          {"stage_metrics", c.stage_metrics},
          {"stage_queries", c.stage_queries},
          {"stages_lost", c.stages_lost},
          {"stages_restored", c.stages_restored},
          {"stage_announcements", c.stage_announcements},
          {"peer_reports", c.peer_reports},
          {"hung_peers", c.hung_peers},
          {"stragglers", c.stragglers},
          {"slow_links", c.slow_links},
          {"slow_nodes", c.slow_nodes},
          {"frozen_links", c.frozen_links},
          {"anomaly_evictions", c.anomaly_evictions},
          {"rejoins_refused", c.rejoins_refused}};
}

const char* runningPhaseName(protocol::RunningPhase phase) {
  const auto op_phase = anomaly::opPhaseOf(phase);
  return op_phase ? coll::opPhaseName(*op_phase) : "none";
}

// What the anomaly detectors see of each accepted peer, the links' rates over
// their window, and their latest findings (src/anomaly/cluster_monitor.h).
nlohmann::json anomaliesJson(const membership::MasterSnapshot& snapshot) {
  nlohmann::json out = {{"peers", nlohmann::json::array()},
                        {"links", nlohmann::json::array()},
                        {"findings", nlohmann::json::array()}};
  for (const anomaly::PeerHealth& p : snapshot.health) {
    out["peers"].push_back({{"id", p.peer.toHex()},
                            {"group", p.group},
                            {"ops_completed", p.ops_completed},
                            {"ops_failed", p.ops_failed},
                            {"running", runningPhaseName(p.running_phase)},
                            {"running_tag", p.running_tag},
                            {"running_ms", p.running_ms},
                            {"waiting_on", p.waiting_on.isZero() ? "" : p.waiting_on.toHex()},
                            {"waiting_ms", p.waiting_ms},
                            {"late_ms", p.late_ms},
                            {"hung", p.hung},
                            {"straggler", p.straggler},
                            {"slow_node", p.slow_node}});
  }
  for (const anomaly::LinkRate& link : snapshot.links) {
    out["links"].push_back({{"from", link.from.toHex()},
                            {"to", link.to.toHex()},
                            {"group", link.group},
                            {"bytes_per_s", link.bytes_per_s},
                            {"busy_share", link.busy_share},
                            {"stalled_ms", link.stalled_ms},
                            {"slow", link.slow},
                            {"frozen", link.frozen}});
  }
  const auto now = anomaly::MonitorClock::now();
  for (const anomaly::Finding& f : snapshot.findings) {
    out["findings"].push_back(
        {{"kind", anomaly::anomalyKindName(f.kind)},
         {"peer", f.peer.toHex()},
         {"link_to", f.link_to.isZero() ? "" : f.link_to.toHex()},
         {"group", f.group},
         {"value", f.value},
         {"threshold", f.threshold},
         {"evidence", f.evidence},
         {"age_ms", std::chrono::duration_cast<std::chrono::milliseconds>(now - f.at).count()}});
  }
  return out;
}

}  // namespace

nlohmann::json statusJson(const membership::MasterSnapshot& snapshot) {
  std::vector<const membership::PeerView*> peers;
  for (const auto& peer : snapshot.peers)
    peers.push_back(&peer);
  // Unranked (-1) peers after the ring: compare rank as unsigned.
  std::sort(peers.begin(), peers.end(), [](const auto* a, const auto* b) {
    return std::tuple(a->group, static_cast<unsigned>(a->rank), a->id) <
           std::tuple(b->group, static_cast<unsigned>(b->rank), b->id);
  });
  nlohmann::json out = {
      {"incarnation", snapshot.incarnation}, {"peers", nlohmann::json::array()},
      {"groups", nlohmann::json::array()},   {"pipeline_stages", snapshot.pipeline_stages},
      {"stages", nlohmann::json::array()},   {"counters", countersJson(snapshot.counters)},
      {"anomalies", anomaliesJson(snapshot)}};
  for (const auto* peer : peers)
    out["peers"].push_back(peerJson(*peer));
  for (const auto& group : snapshot.groups)
    out["groups"].push_back(groupJson(group));
  for (const auto& stage : snapshot.stages)
    out["stages"].push_back(stageJson(stage));
  return out;
}

}  // namespace eccl::tools::master
