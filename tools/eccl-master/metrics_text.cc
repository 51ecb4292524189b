#include "tools/eccl-master/metrics_text.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "tools/eccl-master/peer_state_name.h"

namespace eccl::tools::master {
namespace {

void header(std::string& out, const char* name, const char* type, const char* help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

void sample(std::string& out, const char* name, const std::string& labels, uint64_t value) {
  char number[32];
  std::snprintf(number, sizeof number, "%" PRIu64, value);
  out.append(name).append(labels).append(" ").append(number).append("\n");
}

void sampleRatio(std::string& out, const char* name, const std::string& labels, double value) {
  char number[32];
  std::snprintf(number, sizeof number, "%.4g", value);
  out.append(name).append(labels).append(" ").append(number).append("\n");
}

void gauge(std::string& out, const char* name, const char* help, uint64_t value) {
  header(out, name, "gauge", help);
  sample(out, name, "", value);
}

void counter(std::string& out, const char* name, const char* help, uint64_t value) {
  header(out, name, "counter", help);
  sample(out, name, "", value);
}

std::string groupLabel(const std::string& group) {
  return "{group=\"" + escapeLabelValue(group) + "\"}";
}

// One gauge family with a sample per group.
template <typename Field>
void perGroup(std::string& out, const membership::MasterSnapshot& snapshot, const char* name,
              const char* help, Field field) {
  header(out, name, "gauge", help);
  for (const auto& group : snapshot.groups)
    sample(out, name, groupLabel(group.name), field(group));
}

// The anomaly detectors: their findings, and per peer and link what they see.
void anomalies(std::string& out, const membership::MasterSnapshot& snapshot) {
  const auto& c = snapshot.counters;
  counter(out, "eccl_master_peer_reports_total",
          "Reports of accepted peers on their collectives and links.", c.peer_reports);
  header(out, "eccl_master_anomalies_total", "counter", "Anomalies the detectors found, by kind.");
  for (const auto& [kind, count] : {std::pair{"hung_peer", c.hung_peers},
                                    {"straggler", c.stragglers},
                                    {"slow_link", c.slow_links},
                                    {"slow_node", c.slow_nodes},
                                    {"frozen_link", c.frozen_links}}) {
    sample(out, "eccl_master_anomalies_total", std::string("{kind=\"") + kind + "\"}", count);
  }
  counter(out, "eccl_master_anomaly_evictions_total",
          "Peers evicted for an anomaly (also counted in eccl_master_evictions_total).",
          c.anomaly_evictions);
  counter(out, "eccl_master_rejoins_refused_total",
          "Registrations of evicted peers' processes refused within their back-off.",
          c.rejoins_refused);
  header(out, "eccl_master_peer_late_ms", "gauge",
         "How late a peer entered its ring neighbours' collectives over the detectors' window, "
         "summed over the neighbours (ms).");
  for (const anomaly::PeerHealth& p : snapshot.health) {
    sample(out, "eccl_master_peer_late_ms",
           "{group=\"" + escapeLabelValue(p.group) + "\",peer=\"" + p.peer.shortHex() + "\"}",
           static_cast<uint64_t>(p.late_ms));
  }
  header(out, "eccl_master_peer_waiting_ms", "gauge",
         "How long a peer's running collective has been blocked on a neighbour (ms; 0: not "
         "blocked).");
  for (const anomaly::PeerHealth& p : snapshot.health) {
    sample(out, "eccl_master_peer_waiting_ms",
           "{group=\"" + escapeLabelValue(p.group) + "\",peer=\"" + p.peer.shortHex() + "\"}",
           p.waiting_ms);
  }
  auto linkLabels = [](const anomaly::LinkRate& link) {
    return "{group=\"" + escapeLabelValue(link.group) + "\",from=\"" + link.from.shortHex() +
           "\",to=\"" + link.to.shortHex() + "\"}";
  };
  header(out, "eccl_master_link_bytes_per_second", "gauge",
         "What a peer sent to another over the detectors' window, per second.");
  for (const anomaly::LinkRate& link : snapshot.links) {
    sample(out, "eccl_master_link_bytes_per_second", linkLabels(link),
           static_cast<uint64_t>(link.bytes_per_s));
  }
  header(out, "eccl_master_link_busy_ratio", "gauge",
         "Share of the detectors' window its sender's bytes waited on a link.");
  for (const anomaly::LinkRate& link : snapshot.links)
    sampleRatio(out, "eccl_master_link_busy_ratio", linkLabels(link), link.busy_share);
}

std::string stageLabel(const membership::StageView& stage) {
  return "{stage=\"" + std::to_string(stage.stage) + "\",group=\"" + escapeLabelValue(stage.group) +
         "\"}";
}

// Pipeline stages: one sample per stage the master knows (stage_book.h).
void stages(std::string& out, const membership::MasterSnapshot& snapshot) {
  gauge(out, "eccl_master_pipeline_stages",
        "Stages of the pipeline (0: no peer with a stage is registered).",
        snapshot.pipeline_stages);
  header(out, "eccl_master_stage_lost", "gauge",
         "1 while every peer of a pipeline stage's group is gone.");
  for (const auto& stage : snapshot.stages)
    sample(out, "eccl_master_stage_lost", stageLabel(stage),
           stage.state == membership::StageBook::State::kLost ? 1 : 0);
  header(out, "eccl_master_stage_recovering", "gauge",
         "1 while a lost pipeline stage has an accepted replacement that has not announced its "
         "weights rebuilt.");
  for (const auto& stage : snapshot.stages) {
    sample(out, "eccl_master_stage_recovering", stageLabel(stage),
           stage.state == membership::StageBook::State::kRecovering ? 1 : 0);
  }
  header(out, "eccl_master_stage_metric", "gauge",
         "The latest metric reported for a stage (e.g. its gradient norm).");
  for (const auto& stage : snapshot.stages) {
    if (!stage.has_metric) continue;
    char value[64];
    std::snprintf(value, sizeof value, "%.17g", stage.metric);
    out.append("eccl_master_stage_metric").append(stageLabel(stage)).append(" ").append(value);
    out.append("\n");
  }
}

}  // namespace

std::string escapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string renderMetrics(const membership::MasterSnapshot& snapshot) {
  std::string out;
  gauge(out, "eccl_master_incarnation",
        "Identifies this master process; a new value means the master restarted.",
        snapshot.incarnation);

  header(out, "eccl_master_peers", "gauge", "Registered peers by state.");
  for (protocol::PeerState state : kPeerStates) {
    const auto count = std::count_if(snapshot.peers.begin(), snapshot.peers.end(),
                                     [&](const auto& peer) { return peer.state == state; });
    sample(out, "eccl_master_peers", std::string("{state=\"") + peerStateName(state) + "\"}",
           static_cast<uint64_t>(count));
  }
  gauge(out, "eccl_master_groups", "Groups with at least one registered peer.",
        snapshot.groups.size());
  perGroup(out, snapshot, "eccl_master_group_revision", "Committed topology revision of a group.",
           [](const membership::GroupView& g) { return g.revision; });
  perGroup(out, snapshot, "eccl_master_group_accepted", "Peers in a group's committed ring.",
           [](const membership::GroupView& g) { return uint64_t{g.accepted}; });
  perGroup(out, snapshot, "eccl_master_group_pending", "Peers waiting to be admitted to a group.",
           [](const membership::GroupView& g) { return uint64_t{g.pending}; });
  perGroup(out, snapshot, "eccl_master_group_fetching",
           "Joiners fetching a group's shared state before their admission.",
           [](const membership::GroupView& g) { return uint64_t{g.fetching}; });
  perGroup(out, snapshot, "eccl_master_group_reconfiguring",
           "1 while a new ring of the group is being set up.",
           [](const membership::GroupView& g) { return uint64_t{g.reconfiguring}; });
  stages(out, snapshot);

  // The oldest heartbeat: the peer closest to being declared lost.
  std::chrono::milliseconds oldest{0};
  for (const auto& peer : snapshot.peers)
    oldest = std::max(oldest, peer.heartbeat_age);
  header(out, "eccl_master_heartbeat_age_max_seconds", "gauge",
         "Time since the least recent heartbeat of any registered peer.");
  char age[32];
  std::snprintf(age, sizeof age, "%.3f", static_cast<double>(oldest.count()) / 1000.0);
  out.append("eccl_master_heartbeat_age_max_seconds ").append(age).append("\n");

  const auto& c = snapshot.counters;
  counter(out, "eccl_master_registrations_total",
          "Accepted registrations, re-registrations included.", c.registrations);
  counter(out, "eccl_master_rejected_registrations_total", "Refused registrations.",
          c.rejected_registrations);
  counter(out, "eccl_master_heartbeats_total", "Heartbeats received.", c.heartbeats);
  counter(out, "eccl_master_votes_total", "Topology update votes received.", c.votes);
  counter(out, "eccl_master_commits_total", "Topology revisions committed.", c.commits);
  counter(out, "eccl_master_losses_total",
          "Peers declared lost (connection closed or heartbeats missed).", c.losses);
  counter(out, "eccl_master_leaves_total", "Peers that left gracefully.", c.leaves);
  counter(out, "eccl_master_evictions_total",
          "Peers evicted (e.g. channels not up in time for a new ring).", c.evictions);
  counter(out, "eccl_master_peer_lookups_total", "Point-to-point address lookups answered.",
          c.lookups);
  counter(out, "eccl_master_op_reports_total",
          "Reports of survivors agreeing on the outcome of a failed collective.", c.op_reports);
  counter(out, "eccl_master_state_syncs_total", "Shared-state syncs that succeeded.",
          c.state_syncs);
  counter(out, "eccl_master_state_syncs_failed_total",
          "Shared-state syncs that ended with an error on every member.", c.state_syncs_failed);
  counter(out, "eccl_master_state_fetches_total",
          "Shared-state snapshots planned for joiners (ecclCommConnectWithState).",
          c.state_fetches);
  counter(out, "eccl_master_stage_metrics_total", "Metrics reported by pipeline stage peers.",
          c.stage_metrics);
  counter(out, "eccl_master_stage_queries_total", "Pipeline stage queries answered.",
          c.stage_queries);
  counter(out, "eccl_master_stages_lost_total", "Pipeline stages that lost their last peer.",
          c.stages_lost);
  counter(out, "eccl_master_stages_restored_total",
          "Recovering pipeline stages restored by a peer's announcement.", c.stages_restored);
  counter(out, "eccl_master_stage_announcements_total",
          "Announcements of pipeline stage peers that they hold their stage's weights again.",
          c.stage_announcements);
  anomalies(out, snapshot);
  return out;
}

}  // namespace eccl::tools::master
