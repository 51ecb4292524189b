// The master's membership state machine, as pure bookkeeping: no sockets, no
// clock of its own, no threads. The master server feeds it the frames its
// connections receive and the passing of time, and delivers the frames it
// puts in the outbox. Everything here is deterministic and unit-tested.
//
// Life cycle of a peer in a group (votes are unanimous among accepted peers):
//   register -> PENDING -> (every accepted peer votes) -> Topology sent to the
//   new ring -> each member connects its data channels and says ChannelsReady
//   -> TopologyCommit -> ACCEPTED.
// A group without accepted peers admits its pending peers at once. A peer that
// misses miss_limit heartbeats, closes its connection or fails to bring its
// channels up in time is removed, and every other peer of its group is told.
//
// Pipeline stages (stage_book.h): a group may hold one stage of a pipeline.
// When the last peer of a stage that had an accepted peer is removed, every
// registered stage peer (of every stage group) gets StageEvent{kLost}; when a
// peer of a lost stage's group is accepted the stage is recovering, and when
// an accepted peer of a recovering stage announces its weights rebuilt
// (StageAnnounce), every stage peer gets StageEvent{kRestored} with the
// announced round. Stages are soft state too: a restarted master rebuilds
// them from re-registrations and forgets lost flags and metrics.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "src/anomaly/cluster_monitor.h"
#include "src/common/endpoint_id.h"
#include "src/common/status.h"
#include "src/membership/outcome_arbiter.h"
#include "src/membership/peer_token.h"
#include "src/membership/stage_book.h"
#include "src/membership/state_sync_arbiter.h"
#include "src/protocol/control_messages.h"
#include "src/protocol/report_messages.h"
#include "src/protocol/stage_messages.h"
#include "src/protocol/state_messages.h"
#include "transport/tls/fingerprint.h"

namespace eccl::membership {

using Clock = std::chrono::steady_clock;
using ConnectionId = uint64_t;

struct MasterSettings {
  std::chrono::milliseconds heartbeat{250};
  uint16_t miss_limit = 4;
  // Time the members of a new ring get to report their channels up.
  std::chrono::milliseconds channel_setup_timeout{10'000};
  uint64_t incarnation = 1;
  TokenKey token_key{};
  // After a restart, how long a group's reported ring waits for its missing
  // members to reconnect before it carries on without them.
  std::chrono::milliseconds rebuild_grace{3'000};
  // Until then no group forms its first ring: a restarted master gives the
  // members of existing rings time to reconnect before newcomers form new ones.
  Clock::time_point hold_first_rings_until{};
  // The links shared-state transfers cross: zstd is used where it compresses
  // faster than this (state/compression.h); a WAN master sets it lower.
  double state_link_bytes_per_s = 1.25e9;
  // Anomaly detection (src/anomaly/cluster_monitor.h) and what it may do:
  // evict a hung peer (its ring would otherwise wait for it until the ops'
  // deadlines), evict a straggler or a slow node (off by default: report
  // only). A slow or frozen link is reported only: the ring cannot tell which
  // end is at fault. Evictions are at most one per group per
  // eviction_cooldown, so that a noisy network cannot empty a ring.
  anomaly::DetectorSettings detectors;
  bool evict_hung = true;
  bool evict_stragglers = false;
  bool evict_slow_nodes = false;
  std::chrono::milliseconds eviction_cooldown{30'000};
  // An evicted peer's process may register again (as a new peer) only after
  // rejoin_backoff, doubled for each further eviction of that process (its
  // registrations name the peer evicted before), up to rejoin_backoff_max, so
  // that a flapping node cannot fail the ring's ops again and again.
  std::chrono::milliseconds rejoin_backoff{10'000};
  std::chrono::milliseconds rejoin_backoff_max{300'000};
};

// A frame for a connection; with close_after (or no frame) the connection is dropped.
struct Outgoing {
  ConnectionId connection = 0;
  std::vector<uint8_t> frame;
  bool close_after = false;
};
using Outbox = std::vector<Outgoing>;

struct PeerView {
  EndpointId id;
  std::string group;
  std::string address;  // host:port of its data listener
  protocol::PeerState state;
  int rank = -1;  // in the committed ring; -1 while pending
  std::chrono::milliseconds heartbeat_age{0};
  uint64_t heartbeats = 0;
  uint64_t ops_completed = 0;
  int32_t stage = -1;  // the pipeline stage of its group; -1: none
};

struct GroupView {
  std::string name;
  uint64_t revision = 0;
  size_t accepted = 0;
  size_t pending = 0;
  size_t votes = 0;
  bool reconfiguring = false;
  size_t fetching = 0;  // registered, fetching the shared state before admission
};

struct StageView {
  uint32_t stage = 0;
  std::string group;
  StageBook::State state = StageBook::State::kActive;
  size_t accepted = 0;  // accepted peers of its group
  bool has_metric = false;
  uint64_t metric_round = 0;
  double metric = 0;
  EndpointId metric_peer;
};

struct MasterCounters {
  uint64_t registrations = 0;
  uint64_t rejected_registrations = 0;
  uint64_t heartbeats = 0;
  uint64_t votes = 0;
  uint64_t commits = 0;
  uint64_t losses = 0;
  uint64_t leaves = 0;
  uint64_t evictions = 0;
  uint64_t lookups = 0;
  uint64_t op_reports = 0;          // agreement on a collective's outcome (after a failure)
  uint64_t state_syncs = 0;         // shared-state syncs that succeeded
  uint64_t state_syncs_failed = 0;  // ... and that ended with an error on every member
  uint64_t state_fetches = 0;       // snapshots planned for joiners and other groups' fetchers
  uint64_t stage_metrics = 0;       // metrics accepted from stage peers
  uint64_t stage_queries = 0;
  uint64_t stages_lost = 0;
  uint64_t stages_restored = 0;      // recovering stages made active by an announcement
  uint64_t stage_announcements = 0;  // announcements accepted (restoring or not)
  uint64_t peer_reports = 0;         // PeerReports taken in by the anomaly detectors
  uint64_t hung_peers = 0;  // findings of the detectors (ClusterMonitor::found, in snapshots)
  uint64_t stragglers = 0;
  uint64_t slow_links = 0;
  uint64_t slow_nodes = 0;
  uint64_t frozen_links = 0;
  uint64_t anomaly_evictions = 0;  // peers evicted for a finding (counted in evictions too)
  uint64_t rejoins_refused = 0;    // registrations of evicted processes within their back-off
};

struct MasterSnapshot {
  uint64_t incarnation = 0;
  std::vector<PeerView> peers;
  std::vector<GroupView> groups;
  uint32_t pipeline_stages = 0;   // the pipeline's size; 0: no stage peer registered
  std::vector<StageView> stages;  // by stage
  MasterCounters counters;
  // The anomaly detectors' view: accepted peers, link rates, latest findings.
  std::vector<anomaly::PeerHealth> health;
  std::vector<anomaly::LinkRate> links;
  std::vector<anomaly::Finding> findings;
};

class MasterState {
 public:
  explicit MasterState(MasterSettings settings);

  // A connection's first frame. On success the connection speaks for the returned peer.
  // certificate: the connection's verified TLS certificate (none without TLS).
  // A peer is pinned to the certificate it first registered with: taking it
  // over from another connection (with its token) needs the same one, else
  // kAuthError, so a token copied to another host of the cluster's CA is useless.
  Result<EndpointId> onRegister(ConnectionId connection, const protocol::Register& request,
                                const std::optional<transport::tls::CertFingerprint>& certificate,
                                Clock::time_point now, Outbox& out);
  // Frames of registered peers. An error is the peer's misuse: the server answers
  // it with a ControlError and keeps the peer.
  Status onHeartbeat(const EndpointId& peer, const protocol::Heartbeat& beat, Clock::time_point now,
                     Outbox& out);
  Status onVote(const EndpointId& peer, const protocol::TopologyVote& vote, Clock::time_point now,
                Outbox& out);
  Status onChannelsReady(const EndpointId& peer, const protocol::ChannelsReady& ready,
                         Clock::time_point now, Outbox& out);
  void onLeave(const EndpointId& peer, Clock::time_point now, Outbox& out);
  // Where an accepted peer's data listener is (point-to-point messages, any
  // group). A found peer of another group is watched for the asker: its
  // departure reaches the asker as a PeerEvent with revision 0.
  Status onPeerLookup(const EndpointId& peer, const protocol::PeerLookup& lookup, Outbox& out);
  // A member's progress with a collective op: a question (it waits for the
  // agreed outcome) or an answer to the master's question (outcome_arbiter.h).
  Status onOpReport(const EndpointId& peer, const protocol::OpReport& report, Outbox& out);
  // Shared-state sync (state_sync_arbiter.h): a member's hashes, and its report of a round.
  Status onStateVote(const EndpointId& peer, const protocol::StateVote& vote, Outbox& out);
  Status onStateDone(const EndpointId& peer, const protocol::StateDone& done, Outbox& out);
  // A pending peer that registered with kFlagFetchState: what it holds, and
  // (later) that its fetch ended, which makes it an ordinary pending peer.
  Status onStateFetchRequest(const EndpointId& peer, const protocol::StateFetchRequest& request,
                             Outbox& out);
  Status onStateFetchDone(const EndpointId& peer, const protocol::StateFetchDone& done,
                          Clock::time_point now, Outbox& out);
  // A stage peer's metric for a round (misuse: the peer has no stage or is not
  // accepted), and any registered peer's question about a stage.
  Status onStageMetric(const EndpointId& peer, const protocol::StageMetric& metric, Outbox& out);
  Status onStageQuery(const EndpointId& peer, const protocol::StageQuery& query, Outbox& out);
  // An accepted stage peer holds its stage's weights again: a recovering stage
  // is restored (StageEvent{kRestored} with the round to every stage peer).
  // Answered with a StageInfo of the peer's stage. Misuse: no stage, not accepted.
  Status onStageAnnounce(const EndpointId& peer, const protocol::StageAnnounce& announce,
                         Outbox& out);
  // An accepted peer's report on its collectives and links (with each
  // heartbeat), for the anomaly detectors; a report of another revision than
  // its group's, or of a peer that is not accepted, is dropped.
  Status onPeerReport(const EndpointId& peer, const protocol::PeerReport& report,
                      Clock::time_point now);
  // The connection closed without a Leave (a newer connection of the peer is not affected).
  void onConnectionClosed(const EndpointId& peer, ConnectionId connection, Clock::time_point now,
                          Outbox& out);
  // Missed heartbeats and channel set-up deadlines.
  void tick(Clock::time_point now, Outbox& out);
  // The loop stalled for `stall` (it could not read heartbeats meanwhile):
  // nobody is declared lost for that time.
  void forgiveStall(Clock::duration stall);

  MasterSnapshot snapshot(Clock::time_point now) const;
  const MasterSettings& settings() const { return settings_; }
  size_t peerCount() const { return peers_.size(); }

 private:
  struct Peer {
    EndpointId id;
    ConnectionId connection = 0;
    std::string group;
    std::string host;
    uint16_t port = 0;
    protocol::PeerState state = protocol::PeerState::kPending;
    Clock::time_point last_heartbeat;
    uint64_t heartbeats = 0;
    uint64_t ops_completed = 0;
    int32_t stage = -1;
    uint32_t evictions = 0;  // of its process before (Register::kFlagEvictedBefore)
    std::optional<transport::tls::CertFingerprint> certificate;  // pinned at registration
  };
  // An evicted peer's back-off, kept until forget_at (a process that stays
  // away that long starts afresh).
  struct Eviction {
    std::string group;
    uint32_t evictions = 0;  // of this process, this one included
    Clock::time_point rejoin_at;
    Clock::time_point forget_at;
  };
  struct Reconfiguration {
    uint64_t revision = 0;
    std::vector<EndpointId> members;  // ring order
    std::set<EndpointId> ready;
    Clock::time_point deadline;
  };
  // A ring rebuilt from its members' reports after a master restart.
  struct Rebuild {
    uint32_t world_size = 0;
    std::map<uint32_t, EndpointId> ranks;
    Clock::time_point deadline;
  };
  struct Group {
    std::string name;
    uint64_t revision = 0;
    uint64_t last_attempt = 0;  // revision numbers are never reused, failed attempts included
    std::vector<EndpointId> accepted;  // ring order: index = rank
    std::vector<EndpointId> pending;   // in registration order
    // Registered, fetching the shared state: not admitted (nor counted as
    // pending) until their StateFetchDone.
    std::vector<EndpointId> fetching;
    std::map<EndpointId, Clock::time_point> votes;  // when each voted (its first vote)
    std::vector<EndpointId> departed;               // since the last Topology
    std::optional<Reconfiguration> reconfiguration;
    std::optional<Rebuild> rebuild;
    StateSyncArbiter state_sync;
  };
  enum class Removal { kLost, kLeft, kEvicted };

  Group& groupOf(const Peer& peer);
  // A peer that this incarnation does not know presents a valid token: after a
  // restart, an accepted one takes its reported place in its ring.
  bool restoreAccepted(Peer& peer, const protocol::Register& request, Clock::time_point now);
  void rememberRemoved(const EndpointId& id);
  // Starts an evicted peer's back-off (its process's evictions so far given).
  void rememberEviction(const Peer& peer, Clock::time_point now);
  // A registration naming a peer evicted before: refused within that
  // eviction's back-off; else the count of the process's evictions it carries on.
  Result<uint32_t> checkRejoinBackoff(const protocol::Register& request, Clock::time_point now);
  void send(Outbox& out, const Peer& peer, std::vector<uint8_t> frame) const;
  void broadcast(Outbox& out, const Group& group, const std::vector<uint8_t>& frame,
                 const EndpointId* except = nullptr) const;
  // Membership events go to the accepted peers (they vote; pending ones wait).
  void announce(Outbox& out, const Group& group, const std::vector<uint8_t>& frame) const;
  void broadcastStatus(Outbox& out, const Group& group) const;
  void markStatusChanged(const Group& group);
  void maybeReconfigure(Group& group, Clock::time_point now, Outbox& out);
  void startReconfiguration(Group& group, std::vector<EndpointId> members, Clock::time_point now,
                            Outbox& out);
  void commit(Group& group, Outbox& out);
  void remove(const EndpointId& id, Removal why, Clock::time_point now, Outbox& out);
  // The detectors' new findings: logged, counted, and a peer evicted where
  // the settings say so.
  // The detectors' view of the open update rounds: who the voters wait for.
  void updateVoteWaits(Clock::time_point now);
  void actOnAnomalies(Clock::time_point now, Outbox& out);
  // Tells the peers of other groups that watch `id` that it departed; forgets its watches.
  void notifyWatchers(const EndpointId& id, protocol::PeerEventKind kind, Outbox& out);
  // Delivers the arbiter's questions and verdicts to the peers still connected.
  void sendVerdicts(const std::vector<OutcomeArbiter::Message>& messages, Outbox& out) const;
  // The group's fetch plans (with the addresses filled in) first: a source
  // must know what to keep before the sync's final plan lets it go on.
  void sendStatePlans(Group& group, std::vector<StateSyncArbiter::Message>& plans, Outbox& out);
  // A group without members has nothing to fetch: its fetchers become pending
  // (each told by an empty fetch plan).
  void releaseFetchers(Group& group, Outbox& out);
  // Fetches of another group's state (master_group_fetch.cc): whether a
  // request is one; its handling (immediate refusals as failed fetch plans
  // that echo the request's fetch number); forgetting a fetcher's fetch
  // (replaced, departed; endGroupFetch: its StateFetchDone, only when it
  // names the kept fetch's number); the waiting fetchers of a group that
  // lost its last member, refused.
  bool isGroupFetch(const Peer& peer, const protocol::StateFetchRequest& request) const;
  Status onGroupFetchRequest(const Peer& peer, const protocol::StateFetchRequest& request,
                             Outbox& out);
  void refuseFetch(const Peer& peer, uint64_t fetch, Code code, std::string text,
                   Outbox& out) const;
  void dropGroupFetch(const EndpointId& id);
  void endGroupFetch(const EndpointId& id, uint64_t fetch);
  void releaseGroupFetchers(Group& group, Outbox& out);
  // Stages (master_stages.cc): whether a registration fits the pipeline; the
  // bookkeeping of a removed peer and of a group whose peers were accepted;
  // an event to every registered stage peer; the answer about a stage.
  Status checkStage(const protocol::Register& request) const;
  void stagePeerRemoved(int32_t stage, const Group& group, Outbox& out);
  void stageAccepted(const Group& group);
  void sendStageEvent(protocol::StageEventKind kind, uint32_t stage, uint64_t round,
                      const std::string& group, Outbox& out) const;
  protocol::StageInfo stageInfo(uint64_t request, uint32_t stage) const;

  MasterSettings settings_;
  std::unordered_map<EndpointId, Peer, EndpointIdHash> peers_;
  std::map<std::string, Group> groups_;
  // Peers this incarnation removed: their tokens still verify, but they may
  // only come back as new joiners (bounded, oldest forgotten first).
  std::set<std::string> status_changed_;  // groups whose counts changed since the last tick
  std::unordered_set<EndpointId, EndpointIdHash> removed_;
  std::deque<EndpointId> removed_order_;
  MasterCounters counters_;
  StageBook stages_;
  anomaly::ClusterMonitor monitor_{settings_.detectors};
  std::map<std::string, Clock::time_point> last_anomaly_eviction_;      // by group
  std::unordered_map<EndpointId, Eviction, EndpointIdHash> evictions_;  // by evicted peer
  OutcomeArbiter arbiter_;
  // Point-to-point watches: watched peer -> askers, and the reverse, so that
  // the departure of either side drops its entries.
  std::unordered_map<EndpointId, std::unordered_set<EndpointId, EndpointIdHash>, EndpointIdHash>
      watchers_;
  std::unordered_map<EndpointId, std::unordered_set<EndpointId, EndpointIdHash>, EndpointIdHash>
      watching_;
  // Fetchers of another group's state -> that group and the fetch's number,
  // until their StateFetchDone (one fetch per fetcher: a request replaces it).
  struct GroupFetch {
    std::string group;
    uint64_t fetch = 0;
  };
  std::map<EndpointId, GroupFetch> group_fetches_;
};

}  // namespace eccl::membership
