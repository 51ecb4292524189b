// One group's shared-state syncs, on the master: collects the members'
// votes, decides (src/state/consensus.h), and runs transfer rounds until
// every member holds the popular bytes or no source is left. Pure
// bookkeeping like MasterState: the caller delivers the plans it returns.
//
// A round: every member that sends or receives gets a StatePlan and answers
// with a StateDone. A range that did not arrive, or an entry whose hash came
// out wrong, is asked again in the next round from another holder (the
// failed sources excluded for that receiver; receivers that completed an
// entry become holders). A member that departs is dropped: its votes no
// longer count, what it was to send is re-planned from other holders. The
// last plan is final: success at the new revision, or one error for all.
//
// A pending peer may ask to fetch the state before its admission: the next
// sync that succeeds is its snapshot. The arbiter splits the bytes the peer
// lacks across that sync's members and hands out fetch plans (to the peer
// and to each source) that the caller delivers before the sync's final plans.
// A peer of another group may fetch the same way (the caller keeps it out of
// this group's membership).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "src/common/endpoint_id.h"
#include "src/common/status.h"
#include "src/protocol/state_messages.h"
#include "src/state/consensus.h"

namespace eccl::membership {

// One sync in progress (outside the class: clang refuses std::optional of a
// nested struct with default member initialisers inside its enclosing class).
struct StateSyncRun {
  uint64_t id = 0;
  uint64_t group_revision = 0;
  std::map<EndpointId, protocol::StateVote> votes;
  bool transferring = false;
  uint32_t round = 0;
  uint32_t next_transfer = 0;
  state::Decision decision;
  std::map<uint32_t, protocol::StateTransfer> transfers;  // this round's, by id
  std::set<EndpointId> awaiting;                          // StateDone not yet in
  std::vector<state::Need> retry;                         // for the next round
  // (receiver, entry) -> sources that failed it
  std::map<std::pair<EndpointId, uint32_t>, std::set<EndpointId>> excluded;
  std::string first_failure;
  double link_bytes_per_s = state::kAssumedLinkBytesPerS;
};

class StateSyncArbiter {
 public:
  static constexpr uint32_t kMaxRounds = 16;

  struct Message {
    EndpointId to;
    protocol::StatePlan plan;
  };
  struct FetchMessage {
    EndpointId to;
    protocol::StateFetchPlan plan;  // addresses left for the caller to fill
  };

  // `members`: the group's accepted peers in rank order, at group_revision.
  // An error is the voter's misuse (answered to it alone).
  // link_bytes_per_s: for the choice of zstd (MasterSettings::state_link_bytes_per_s).
  Status onVote(const EndpointId& peer, const protocol::StateVote& vote, uint64_t group_revision,
                const std::vector<EndpointId>& members, std::vector<Message>& out,
                double link_bytes_per_s = state::kAssumedLinkBytesPerS);
  Status onDone(const EndpointId& peer, const protocol::StateDone& done,
                const std::vector<EndpointId>& members, std::vector<Message>& out);
  // A member left or was lost (members no longer lists it).
  void onMemberGone(const EndpointId& peer, const std::vector<EndpointId>& members,
                    std::vector<Message>& out);

  // A pending peer (Register::kFlagFetchState) asks for the state, or a peer
  // of another group (master_group_fetch.cc); a second request replaces its
  // first. Each plan made for it echoes the request's fetch number.
  void onFetchRequest(const EndpointId& peer, protocol::StateFetchRequest request);
  void onFetcherGone(const EndpointId& peer) { fetch_requests_.erase(peer); }
  bool fetchWaiting(const EndpointId& peer) const { return fetch_requests_.count(peer) > 0; }
  // The fetch plans made when a sync succeeded: deliver them before its final plans.
  std::vector<FetchMessage> takeFetchPlans() { return std::exchange(fetch_plans_, {}); }
  size_t fetchesWaiting() const { return fetch_requests_.size(); }

  bool active() const { return sync_.has_value(); }
  std::optional<uint64_t> lastRevision() const { return last_revision_; }
  uint64_t syncsSucceeded() const { return succeeded_; }
  uint64_t syncsFailed() const { return failed_; }

 private:
  void maybeDecide(const std::vector<EndpointId>& members, std::vector<Message>& out);
  // Plans the needs from holders; ends the sync when nothing is left to do.
  void startRound(std::vector<state::Need> needs, const std::vector<EndpointId>& members,
                  std::vector<Message>& out);
  void maybeEndRound(const std::vector<EndpointId>& members, std::vector<Message>& out);
  void finish(Status status, const std::vector<EndpointId>& members, std::vector<Message>& out);
  // The succeeded sync's result is the waiting fetchers' snapshot.
  void planFetches(const std::vector<EndpointId>& members);

  std::optional<StateSyncRun> sync_;
  std::optional<uint64_t> last_revision_;
  std::set<EndpointId> synced_;  // the members of the last successful sync
  uint64_t next_sync_ = 1;
  uint64_t succeeded_ = 0;
  uint64_t failed_ = 0;
  std::map<EndpointId, protocol::StateFetchRequest> fetch_requests_;
  std::vector<FetchMessage> fetch_plans_;
};

}  // namespace eccl::membership
