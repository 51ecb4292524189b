#include "tools/eccl-master/status_json.h"

#include <algorithm>
#include <tuple>

#include "tools/eccl-master/peer_state_name.h"

namespace eccl::tools::master {
namespace {

nlohmann::json peerJson(const membership::PeerView& peer) {
  return {{"id", peer.id.toHex()},         {"state", peerStateName(peer.state)},
          {"group", peer.group},           {"rank", peer.rank},
          {"address", peer.address},       {"heartbeat_age_ms", peer.heartbeat_age.count()},
          {"heartbeats", peer.heartbeats}, {"ops_completed", peer.ops_completed}};
}

nlohmann::json groupJson(const membership::GroupView& group) {
  return {{"name", group.name},         {"revision", group.revision},
          {"accepted", group.accepted}, {"pending", group.pending},
          {"votes", group.votes},       {"reconfiguring", group.reconfiguring},
          {"fetching", group.fetching}};
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
          {"state_fetches", c.state_fetches}};
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
  nlohmann::json out = {{"incarnation", snapshot.incarnation},
                        {"peers", nlohmann::json::array()},
                        {"groups", nlohmann::json::array()},
                        {"counters", countersJson(snapshot.counters)}};
  for (const auto* peer : peers)
    out["peers"].push_back(peerJson(*peer));
  for (const auto& group : snapshot.groups)
    out["groups"].push_back(groupJson(group));
  return out;
}

}  // namespace eccl::tools::master
