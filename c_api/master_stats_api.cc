// ecclMasterGetClusterStats: the master's snapshot (MasterServer::snapshot,
// refreshed by its loop) as its anomaly detectors see it, in C structs.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>
#include <vector>

#include "c_api/call_args.h"
#include "c_api/errors.h"
#include "c_api/handle_checks.h"
#include "c_api/handles.h"
#include "c_api/struct_size.h"
#include "eccl/eccl.h"
#include "src/anomaly/running_phase.h"
#include "src/comm/communicator.h"
#include "src/protocol/control_messages.h"

namespace {

using eccl::Status;
using eccl::capi::copyText;
using eccl::capi::guarded;
using eccl::capi::peerIdOf;

constexpr const char* kFn = "ecclMasterGetClusterStats";

// The first version of each struct is today's: every field is required.
constexpr size_t kStatsMinSize = ECCL_CAPI_FIELD_END(ecclClusterStats_t, rejoins_refused);
constexpr size_t kPeerMinSize = ECCL_CAPI_FIELD_END(ecclPeerHealth_t, slow_node);
constexpr size_t kLinkMinSize = ECCL_CAPI_FIELD_END(ecclLinkHealth_t, frozen);
constexpr size_t kFindingMinSize = ECCL_CAPI_FIELD_END(ecclAnomalyFinding_t, evidence);

// Group names are never cut: the protocol refuses longer ones.
static_assert(sizeof(ecclPeerHealth_t::group) == eccl::protocol::kMaxGroupName + 1);
static_assert(sizeof(ecclLinkHealth_t::group) == eccl::protocol::kMaxGroupName + 1);
static_assert(sizeof(ecclAnomalyFinding_t::group) == eccl::protocol::kMaxGroupName + 1);

ecclClusterStats_t toStats(const eccl::membership::MasterSnapshot& snapshot) {
  const eccl::membership::MasterCounters& c = snapshot.counters;
  ecclClusterStats_t out{};
  out.incarnation = snapshot.incarnation;
  out.registrations = c.registrations;
  out.rejected_registrations = c.rejected_registrations;
  out.heartbeats = c.heartbeats;
  out.votes = c.votes;
  out.commits = c.commits;
  out.losses = c.losses;
  out.leaves = c.leaves;
  out.evictions = c.evictions;
  out.lookups = c.lookups;
  out.op_reports = c.op_reports;
  out.state_syncs = c.state_syncs;
  out.state_syncs_failed = c.state_syncs_failed;
  out.state_fetches = c.state_fetches;
  out.stage_metrics = c.stage_metrics;
  out.stage_queries = c.stage_queries;
  out.stages_lost = c.stages_lost;
  out.stages_restored = c.stages_restored;
  out.stage_announcements = c.stage_announcements;
  out.peer_reports = c.peer_reports;
  out.hung_peers = c.hung_peers;
  out.stragglers = c.stragglers;
  out.slow_links = c.slow_links;
  out.slow_nodes = c.slow_nodes;
  out.frozen_links = c.frozen_links;
  out.anomaly_evictions = c.anomaly_evictions;
  out.rejoins_refused = c.rejoins_refused;
  return out;
}

// In no collective maps to DONE.
ecclOpPhase_t toRunningPhase(eccl::protocol::RunningPhase phase) {
  const auto op_phase = eccl::anomaly::opPhaseOf(phase);
  return op_phase ? static_cast<ecclOpPhase_t>(*op_phase) : ECCL_OP_DONE;
}

ecclPeerHealth_t toPeerHealth(const eccl::anomaly::PeerHealth& p) {
  ecclPeerHealth_t out{};
  out.peer = peerIdOf(p.peer);
  copyText(out.group, p.group);
  out.ops_completed = p.ops_completed;
  out.ops_failed = p.ops_failed;
  out.running_phase = toRunningPhase(p.running_phase);
  out.running_tag = p.running_tag;
  out.running_ms = p.running_ms;
  out.waiting_on = peerIdOf(p.waiting_on);
  out.waiting_ms = p.waiting_ms;
  out.late_ms = p.late_ms;
  out.hung = p.hung ? 1 : 0;
  out.straggler = p.straggler ? 1 : 0;
  out.slow_node = p.slow_node ? 1 : 0;
  return out;
}

ecclLinkHealth_t toLinkHealth(const eccl::anomaly::LinkRate& link) {
  ecclLinkHealth_t out{};
  out.from = peerIdOf(link.from);
  out.to = peerIdOf(link.to);
  copyText(out.group, link.group);
  out.bytes_per_s = link.bytes_per_s;
  out.busy_share = link.busy_share;
  out.stalled_ms = link.stalled_ms;
  out.slow = link.slow ? 1 : 0;
  out.frozen = link.frozen ? 1 : 0;
  return out;
}

ecclAnomalyFinding_t toFinding(const eccl::anomaly::Finding& f,
                               eccl::anomaly::MonitorClock::time_point now) {
  ecclAnomalyFinding_t out{};
  out.kind = eccl::capi::toEventKind(eccl::comm::eventKindOf(f.kind));
  out.peer = peerIdOf(f.peer);
  out.link_to = peerIdOf(f.link_to);
  copyText(out.group, f.group);
  out.value = f.value;
  out.threshold = f.threshold;
  const auto age = std::chrono::duration_cast<std::chrono::milliseconds>(now - f.at).count();
  out.age_ms = static_cast<uint64_t>(std::max<int64_t>(age, 0));
  copyText(out.evidence, f.evidence);
  return out;
}

// One caller array: (array, capacity, count), element size array[0].struct_size.
template <typename CStruct>
struct Array {
  const char* name;  // "peers", named in errors
  CStruct* array;
  size_t capacity;
  size_t* count;
  size_t min_size;

  Status check() const {
    const std::string what = std::string(kFn) + ": " + name;
    if (count == nullptr) return eccl::invalidArgument(what + " count is NULL");
    if (array == nullptr && capacity > 0) {
      return eccl::invalidArgument(what + " is NULL, capacity > 0");
    }
    if (capacity == 0) return Status::ok();
    return eccl::capi::checkStructSize(array[0].struct_size, min_size, sizeof(CStruct),
                                       what + "[0]");
  }

  // Writes items[first, first + n), n = min(capacity, size); first is 0, or
  // size - n for `newest`. *count: every item.
  template <typename Item, typename Convert>
  void write(const std::vector<Item>& items, bool newest, Convert convert) const {
    *count = items.size();
    const size_t n = std::min(capacity, items.size());
    if (n == 0) return;
    const size_t first = newest ? items.size() - n : 0;
    const size_t stride = array[0].struct_size;
    auto* at = reinterpret_cast<unsigned char*>(array);
    for (size_t i = 0; i < n; ++i) {
      CStruct out = convert(items[first + i]);
      out.struct_size = stride;
      std::memcpy(at + i * stride, &out, stride);
    }
  }
};

}  // namespace

extern "C" {

ECCL_API ecclResult_t ecclMasterGetClusterStats(ecclMaster_t master, ecclClusterStats_t* stats,
                                                ecclPeerHealth_t* peers, size_t peer_capacity,
                                                size_t* peer_count, ecclLinkHealth_t* links,
                                                size_t link_capacity, size_t* link_count,
                                                ecclAnomalyFinding_t* findings,
                                                size_t finding_capacity, size_t* finding_count) {
  return guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(eccl::capi::checkMaster(master, kFn));
    if (stats == nullptr) return eccl::invalidArgument(std::string(kFn) + ": stats is NULL");
    ECCL_RETURN_IF_ERROR(eccl::capi::checkStructSize(stats->struct_size, kStatsMinSize,
                                                     sizeof(ecclClusterStats_t),
                                                     std::string(kFn) + ": stats"));
    const Array<ecclPeerHealth_t> peer_array{"peers", peers, peer_capacity, peer_count,
                                             kPeerMinSize};
    const Array<ecclLinkHealth_t> link_array{"links", links, link_capacity, link_count,
                                             kLinkMinSize};
    const Array<ecclAnomalyFinding_t> finding_array{"findings", findings, finding_capacity,
                                                    finding_count, kFindingMinSize};
    // Every argument is checked before anything is written.
    ECCL_RETURN_IF_ERROR(peer_array.check());
    ECCL_RETURN_IF_ERROR(link_array.check());
    ECCL_RETURN_IF_ERROR(finding_array.check());

    // A copy under the server's lock: safe while Run updates it on its thread.
    const eccl::membership::MasterSnapshot snapshot = master->server->snapshot();
    const size_t stats_size = stats->struct_size;
    ecclClusterStats_t out = toStats(snapshot);
    out.struct_size = stats_size;
    std::memcpy(stats, &out, stats_size);
    peer_array.write(snapshot.health, false, toPeerHealth);
    link_array.write(snapshot.links, false, toLinkHealth);
    const auto now = eccl::anomaly::MonitorClock::now();
    finding_array.write(snapshot.findings, true,
                        [now](const eccl::anomaly::Finding& f) { return toFinding(f, now); });
    return Status::ok();
  });
}

}  // extern "C"
