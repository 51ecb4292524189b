// MasterState's fetches of another group's shared state (StateFetchRequest
// naming a group): the target group's arbiter plans them from its next
// successful sync like a joiner's, but the fetcher stays where it is (never
// in that group's `fetching` list, never admitted there); its StateFetchDone
// only ends the fetch.
//
// Each such fetch carries the fetcher's number for it (>= 1, a new one per
// fetch; StateFetchRequest::fetch), and every plan or refusal of it echoes
// the number, so that the fetcher tells a late plan of a fetch it gave up on
// from the plan of its current one. The master keeps one fetch per fetcher:
// a new request replaces the one it keeps (that one is never planned from
// then on; sources already serving its plan run until their deadline), and a
// StateFetchDone ends the kept fetch only when it names that fetch's number
// (a stale one is ignored).
#include <algorithm>

#include "src/membership/master_state.h"
#include "src/protocol/messages.h"

namespace eccl::membership {

namespace {

bool listed(const std::vector<EndpointId>& list, const EndpointId& id) {
  return std::find(list.begin(), list.end(), id) != list.end();
}

}  // namespace

bool MasterState::isGroupFetch(const Peer& peer, const protocol::StateFetchRequest& request) const {
  if (request.group.empty()) return false;
  if (request.group != peer.group) return true;
  // Its own group: a joiner that names it fetches before admission as usual.
  auto own = groups_.find(peer.group);
  return own == groups_.end() || !listed(own->second.fetching, peer.id);
}

void MasterState::refuseFetch(const Peer& peer, uint64_t fetch, Code code, std::string text,
                              Outbox& out) const {
  protocol::StateFetchPlan refusal;
  refusal.fetcher = peer.id;
  refusal.fetch = fetch;
  refusal.code = code;
  refusal.text = std::move(text).substr(0, protocol::kMaxReason);
  send(out, peer, protocol::encodeFrame(refusal));
}

Status MasterState::onGroupFetchRequest(const Peer& peer,
                                        const protocol::StateFetchRequest& request, Outbox& out) {
  dropGroupFetch(peer.id);  // a second request replaces the first
  const uint64_t fetch = request.fetch;
  if (fetch == 0) {
    refuseFetch(peer, fetch, Code::kInvalidArgument,
                "a fetch of another group's shared state needs a fetch number >= 1 (0 is a "
                "joiner's fetch)",
                out);
    return Status::ok();
  }
  const Group& own = groups_.at(peer.group);
  if (listed(own.fetching, peer.id)) {
    refuseFetch(peer, fetch, Code::kInvalidUsage,
                "peer " + peer.id.shortHex() +
                    " is fetching its own group's state before admission; fetch another "
                    "group's once that ended",
                out);
    return Status::ok();
  }
  if (request.group == peer.group && listed(own.accepted, peer.id)) {
    refuseFetch(peer, fetch, Code::kInvalidUsage,
                "peer " + peer.id.shortHex() + " is a member of group '" + peer.group +
                    "': its shared state comes with syncSharedState, not a fetch",
                out);
    return Status::ok();
  }
  if (request.entries.empty()) {
    refuseFetch(peer, fetch, Code::kInvalidArgument,
                "a fetch of group '" + request.group + "'s shared state names no entries", out);
    return Status::ok();
  }
  auto target = groups_.find(request.group);
  if (target == groups_.end()) {
    refuseFetch(peer, fetch, Code::kInvalidArgument,
                "no group '" + request.group + "': no peer of it is registered", out);
    return Status::ok();
  }
  if (target->second.accepted.empty()) {
    refuseFetch(
        peer, fetch, Code::kPeerLost,
        "group '" + request.group + "' has no accepted members: nobody holds its shared state",
        out);
    return Status::ok();
  }
  target->second.state_sync.onFetchRequest(peer.id, request);
  group_fetches_[peer.id] = GroupFetch{request.group, fetch};
  return Status::ok();
}

void MasterState::dropGroupFetch(const EndpointId& id) {
  auto it = group_fetches_.find(id);
  if (it == group_fetches_.end()) return;
  auto target = groups_.find(it->second.group);
  if (target != groups_.end()) target->second.state_sync.onFetcherGone(id);
  group_fetches_.erase(it);
}

void MasterState::endGroupFetch(const EndpointId& id, uint64_t fetch) {
  auto it = group_fetches_.find(id);
  if (it == group_fetches_.end() || it->second.fetch != fetch) return;  // stale or unknown
  dropGroupFetch(id);
}

void MasterState::releaseGroupFetchers(Group& group, Outbox& out) {
  for (auto it = group_fetches_.begin(); it != group_fetches_.end();) {
    auto fetcher = peers_.find(it->first);
    // Fetchers that have their plan already end with their StateFetchDone.
    if (it->second.group != group.name || !group.state_sync.fetchWaiting(it->first) ||
        fetcher == peers_.end()) {
      ++it;
      continue;
    }
    group.state_sync.onFetcherGone(it->first);
    refuseFetch(fetcher->second, it->second.fetch, Code::kPeerLost,
                "group '" + group.name + "' lost its last member before its next shared-state sync",
                out);
    it = group_fetches_.erase(it);
  }
}

}  // namespace eccl::membership
