// The master's state machine, driven frame by frame with a fake clock.
#include "src/membership/master_state.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>

#include "src/protocol/messages.h"

namespace eccl::membership {
namespace {

using namespace std::chrono_literals;
using protocol::MessageType;
using protocol::PeerEventKind;
using protocol::PeerState;
using transport::tls::CertFingerprint;

// What one connection received, decoded.
struct Inbox {
  std::vector<protocol::Registered> registered;
  std::vector<protocol::Topology> topologies;
  std::vector<protocol::TopologyCommit> commits;
  std::vector<protocol::PeerEvent> events;
  std::vector<protocol::GroupStatus> statuses;
  std::vector<protocol::PeerAddress> addresses;
  std::vector<protocol::StateFetchPlan> fetch_plans;
  std::vector<protocol::StatePlan> state_plans;
  int heartbeat_acks = 0;
  bool closed = false;
};

class Cluster {
 public:
  Cluster() : state_(settings()) {}
  explicit Cluster(MasterSettings settings) : state_(std::move(settings)) {}

  static MasterSettings settings() {
    MasterSettings s;
    s.heartbeat = 100ms;
    s.miss_limit = 3;
    s.channel_setup_timeout = 1s;
    s.incarnation = 7;
    s.token_key = randomTokenKey();
    return s;
  }

  // Registers a new peer on a new connection; returns its id. `flags`:
  // Register::kFlag* (kFlagFetchState: it fetches the state before admission).
  EndpointId join(const std::string& group = "g", uint8_t flags = 0,
                  const std::optional<CertFingerprint>& certificate = std::nullopt) {
    const ConnectionId connection = ++last_connection_;
    protocol::Register request;
    request.peer = EndpointId::random();
    request.flags = flags;
    request.group = group;
    request.host = "127.0.0.1";
    request.data_port = static_cast<uint16_t>(1000 + connection);
    auto id = state_.onRegister(connection, request, certificate, now, out_);
    EXPECT_TRUE(id.isOk()) << id.status().toString();
    connections_[request.peer] = connection;
    deliver();
    return request.peer;
  }

  Result<EndpointId> registerWith(
      const protocol::Register& request, ConnectionId connection,
      const std::optional<CertFingerprint>& certificate = std::nullopt) {
    auto id = state_.onRegister(connection, request, certificate, now, out_);
    if (id.isOk()) connections_[request.peer] = connection;
    deliver();
    return id;
  }

  Status vote(const EndpointId& peer, uint64_t revision) {
    Status s = state_.onVote(peer, {revision}, now, out_);
    deliver();
    return s;
  }
  Status ready(const EndpointId& peer, uint64_t revision) {
    Status s = state_.onChannelsReady(peer, {revision}, now, out_);
    deliver();
    return s;
  }
  void heartbeat(const EndpointId& peer) {
    EXPECT_TRUE(state_.onHeartbeat(peer, {1, 0}, now, out_).isOk());
    deliver();
  }
  void leave(const EndpointId& peer) {
    state_.onLeave(peer, now, out_);
    deliver();
  }
  void disconnect(const EndpointId& peer) { disconnect(peer, connections_.at(peer)); }
  void disconnect(const EndpointId& peer, ConnectionId connection) {
    state_.onConnectionClosed(peer, connection, now, out_);
    deliver();
  }
  // The master's answer to `asker`'s lookup.
  protocol::PeerAddress lookup(const EndpointId& asker, protocol::PeerLookup request) {
    request.request = ++last_request_;
    EXPECT_TRUE(state_.onPeerLookup(asker, request, out_).isOk());
    deliver();
    auto& answers = inbox(asker).addresses;
    EXPECT_FALSE(answers.empty());
    if (answers.empty()) return {};
    EXPECT_EQ(answers.back().request, last_request_);
    return answers.back();
  }
  protocol::PeerAddress lookupId(const EndpointId& asker, const EndpointId& peer) {
    protocol::PeerLookup request;
    request.peer = peer;
    return lookup(asker, request);
  }
  protocol::PeerAddress lookupRank(const EndpointId& asker, const std::string& group,
                                   uint32_t rank) {
    protocol::PeerLookup request;
    request.group = group;
    request.rank = rank;
    return lookup(asker, request);
  }
  void tick() {
    state_.tick(now, out_);
    deliver();
  }
  void fetchRequest(const EndpointId& peer) {
    EXPECT_TRUE(state_.onStateFetchRequest(peer, {}, out_).isOk());
    deliver();
  }
  // fetch 0: a joiner's fetch; another number ends a fetch of another group.
  void fetchDone(const EndpointId& peer, uint64_t fetch = 0, uint64_t sync = 1) {
    EXPECT_TRUE(state_.onStateFetchDone(peer, {fetch, sync, 0, 0}, now, out_).isOk());
    deliver();
  }
  void fetchRequest(const EndpointId& peer, const protocol::StateFetchRequest& request) {
    EXPECT_TRUE(state_.onStateFetchRequest(peer, request, out_).isOk());
    deliver();
  }
  // `peer`'s vote for a shared-state sync at its group's current ring.
  void stateVote(const EndpointId& peer, const std::vector<protocol::StateEntrySummary>& entries) {
    protocol::StateVote vote;
    vote.group_revision = inbox(peer).commits.back().revision;
    vote.state_revision = ++state_revisions_[peer];
    vote.entries = entries;
    EXPECT_TRUE(state_.onStateVote(peer, vote, out_).isOk());
    deliver();
  }
  // Every member of the latest topology reports its channels up.
  void allReady(const std::vector<EndpointId>& peers) {
    const uint64_t revision = inbox(peers.front()).topologies.back().revision;
    for (const auto& p : peers)
      EXPECT_TRUE(ready(p, revision).isOk());
  }

  Inbox& inbox(const EndpointId& peer) { return inboxes_[connections_.at(peer)]; }
  Inbox& inboxOf(ConnectionId connection) { return inboxes_[connection]; }
  ConnectionId connectionOf(const EndpointId& peer) const { return connections_.at(peer); }
  MasterState& state() { return state_; }
  MasterSnapshot snapshot() { return state_.snapshot(now); }
  std::optional<PeerView> view(const EndpointId& peer) {
    for (const auto& p : snapshot().peers) {
      if (p.id == peer) return p;
    }
    return std::nullopt;
  }

  Clock::time_point now = Clock::time_point() + 1h;

 private:
  void deliver() {
    for (auto& item : out_) {
      Inbox& box = inboxes_[item.connection];
      if (!item.frame.empty()) decodeInto(box, item.frame);
      if (item.close_after) box.closed = true;
    }
    out_.clear();
  }

  static void decodeInto(Inbox& box, const std::vector<uint8_t>& frame) {
    auto header = protocol::decodeFrameHeader(frame);
    ASSERT_TRUE(header.isOk()) << header.status().toString();
    std::span<const uint8_t> payload(frame.data() + protocol::kFrameHeaderSize, header->length);
    switch (header->type) {
      case MessageType::kRegistered:
        box.registered.push_back(*protocol::decodeMessage<protocol::Registered>(payload));
        break;
      case MessageType::kTopology:
        box.topologies.push_back(*protocol::decodeMessage<protocol::Topology>(payload));
        break;
      case MessageType::kTopologyCommit:
        box.commits.push_back(*protocol::decodeMessage<protocol::TopologyCommit>(payload));
        break;
      case MessageType::kPeerEvent:
        box.events.push_back(*protocol::decodeMessage<protocol::PeerEvent>(payload));
        break;
      case MessageType::kGroupStatus:
        box.statuses.push_back(*protocol::decodeMessage<protocol::GroupStatus>(payload));
        break;
      case MessageType::kPeerAddress:
        box.addresses.push_back(*protocol::decodeMessage<protocol::PeerAddress>(payload));
        break;
      case MessageType::kStateFetchPlan:
        box.fetch_plans.push_back(*protocol::decodeMessage<protocol::StateFetchPlan>(payload));
        break;
      case MessageType::kStatePlan:
        box.state_plans.push_back(*protocol::decodeMessage<protocol::StatePlan>(payload));
        break;
      case MessageType::kHeartbeatAck:
        ++box.heartbeat_acks;
        break;
      default:
        ADD_FAILURE() << "unexpected frame " << protocol::messageTypeName(header->type);
    }
  }

  MasterState state_;
  Outbox out_;
  ConnectionId last_connection_ = 0;
  uint64_t last_request_ = 0;
  std::map<EndpointId, uint64_t> state_revisions_;
  std::map<EndpointId, ConnectionId> connections_;
  std::map<ConnectionId, Inbox> inboxes_;
};

std::vector<EndpointId> ids(const protocol::Topology& topology) {
  std::vector<EndpointId> out;
  for (const auto& member : topology.members)
    out.push_back(member.peer);
  return out;
}

TEST(MasterState, FirstPeerIsAdmittedAtOnce) {
  Cluster c;
  const auto a = c.join();
  Inbox& box = c.inbox(a);
  ASSERT_EQ(box.registered.size(), 1u);
  EXPECT_EQ(box.registered[0].peer, a);
  EXPECT_EQ(box.registered[0].state, PeerState::kPending);
  EXPECT_EQ(box.registered[0].incarnation, 7u);
  EXPECT_EQ(box.registered[0].heartbeat_ms, 100u);
  EXPECT_EQ(box.registered[0].miss_limit, 3u);
  ASSERT_EQ(box.topologies.size(), 1u);
  EXPECT_EQ(box.topologies[0].revision, 1u);
  EXPECT_EQ(ids(box.topologies[0]), std::vector<EndpointId>{a});
  EXPECT_EQ(box.topologies[0].members[0].port, 1001);
  EXPECT_TRUE(box.commits.empty()) << "no commit before the channels are up";
  ASSERT_TRUE(c.ready(a, 1).isOk());
  ASSERT_EQ(box.commits.size(), 1u);
  EXPECT_EQ(box.commits[0].revision, 1u);
  auto view = c.view(a);
  ASSERT_TRUE(view);
  EXPECT_EQ(view->state, PeerState::kAccepted);
  EXPECT_EQ(view->rank, 0);
}

TEST(MasterState, JoinersWaitForAUnanimousVote) {
  Cluster c;
  const auto a = c.join();
  c.allReady({a});
  const auto b = c.join();
  const auto d = c.join();
  EXPECT_TRUE(c.inbox(b).topologies.empty()) << "pending until the accepted peers vote";
  ASSERT_GE(c.inbox(a).events.size(), 2u);
  EXPECT_EQ(c.inbox(a).events[0].kind, PeerEventKind::kJoined);
  EXPECT_EQ(c.inbox(a).events[0].peer, b);
  EXPECT_TRUE(c.inbox(b).events.empty()) << "pending peers are not told of each other";
  const size_t statuses = c.inbox(a).statuses.size();
  c.tick();  // counts go out once per tick, not per registration
  ASSERT_EQ(c.inbox(a).statuses.size(), statuses + 1);
  EXPECT_EQ(c.inbox(a).statuses.back().pending, 2u);
  EXPECT_EQ(c.inbox(a).statuses.back().accepted, 1u);
  EXPECT_EQ(c.inbox(b).statuses.back().pending, 2u);
  c.tick();
  EXPECT_EQ(c.inbox(a).statuses.size(), statuses + 1) << "nothing changed since";

  ASSERT_TRUE(c.vote(a, 1).isOk());
  for (const auto& p : {a, b, d}) {
    ASSERT_EQ(c.inbox(p).topologies.size(), p == a ? 2u : 1u);
    EXPECT_EQ(c.inbox(p).topologies.back().revision, 2u);
    EXPECT_EQ(ids(c.inbox(p).topologies.back()), (std::vector<EndpointId>{a, b, d}));
  }
  ASSERT_TRUE(c.ready(a, 2).isOk());
  ASSERT_TRUE(c.ready(b, 2).isOk());
  EXPECT_TRUE(c.inbox(d).commits.empty());
  ASSERT_TRUE(c.ready(d, 2).isOk());
  for (const auto& p : {a, b, d})
    EXPECT_EQ(c.inbox(p).commits.back().revision, 2u);
  EXPECT_EQ(c.view(d)->rank, 2);
  EXPECT_EQ(c.snapshot().groups[0].revision, 2u);
  EXPECT_EQ(c.snapshot().groups[0].pending, 0u);
}

TEST(MasterState, AStalledLoopDoesNotCountAsSilence) {
  Cluster c;
  const auto a = c.join();
  c.allReady({a});
  c.now += 250ms;
  c.state().forgiveStall(250ms);  // the loop could not read a's heartbeats meanwhile
  c.tick();
  EXPECT_TRUE(c.view(a).has_value());
  c.now += 350ms;  // silent for real now
  c.tick();
  EXPECT_FALSE(c.view(a).has_value());
}

TEST(MasterState, VotesMustBeFromAcceptedPeersAtTheCurrentRevision) {
  Cluster c;
  const auto a = c.join();
  c.allReady({a});
  const auto b = c.join();
  EXPECT_EQ(c.vote(b, 1).code(), Code::kInvalidUsage) << "a pending peer cannot vote";
  EXPECT_EQ(c.vote(a, 5).code(), Code::kInvalidUsage) << "stale or future revision";
  EXPECT_TRUE(c.inbox(b).topologies.empty());
}

TEST(MasterState, AVoteNeedsEveryAcceptedPeer) {
  Cluster c;
  const auto a = c.join();
  c.allReady({a});
  const auto b = c.join();
  ASSERT_TRUE(c.vote(a, 1).isOk());
  c.allReady({a, b});
  const auto d = c.join();
  ASSERT_TRUE(c.vote(a, 2).isOk());
  EXPECT_EQ(c.inbox(d).topologies.size(), 0u) << "b has not voted yet";
  ASSERT_TRUE(c.vote(b, 2).isOk());
  EXPECT_EQ(c.inbox(d).topologies.size(), 1u);
}

TEST(MasterState, AnIdIsNotTakenWithoutItsToken) {
  Cluster c;
  const auto a = c.join();
  protocol::Register thief;
  thief.peer = a;
  thief.group = "g";
  thief.host = "10.0.0.9";
  thief.data_port = 99;
  auto taken = c.registerWith(thief, 100);
  ASSERT_FALSE(taken);
  EXPECT_EQ(taken.status().code(), Code::kInvalidUsage);
  thief.token[0] = 1;  // a forged token
  EXPECT_FALSE(c.registerWith(thief, 101));
  EXPECT_FALSE(c.inbox(a).closed) << "the rightful owner is untouched";
  EXPECT_EQ(c.snapshot().counters.rejected_registrations, 2u);
}

// Peer `a` of group "g" registering again with the token it was given.
protocol::Register rejoinOf(Cluster& c, const EndpointId& a) {
  protocol::Register again;
  again.peer = a;
  again.token = c.inbox(a).registered[0].token;
  again.group = "g";
  again.host = "127.0.0.1";
  again.data_port = 1001;
  return again;
}

TEST(MasterState, ATokenOnlyTakesOverFromTheCertificateThePeerRegisteredWith) {
  Cluster c;
  CertFingerprint mine{};
  mine.fill(0xa1);
  CertFingerprint other{};  // another host's certificate from the same CA
  other.fill(0xb2);
  const auto a = c.join("g", 0, mine);
  const protocol::Register again = rejoinOf(c, a);
  const ConnectionId owner = c.connectionOf(a);
  for (const auto& wrong :
       {std::optional<CertFingerprint>(other), std::optional<CertFingerprint>()}) {
    auto stolen = c.registerWith(again, 100, wrong);
    ASSERT_FALSE(stolen);
    EXPECT_EQ(stolen.status().code(), Code::kAuthError);
    EXPECT_NE(stolen.status().message().find("sha256:" + transport::tls::formatFingerprint(mine)),
              std::string::npos)
        << stolen.status().message();
  }
  EXPECT_FALSE(c.inboxOf(owner).closed) << "the rightful owner keeps its connection";
  EXPECT_EQ(c.snapshot().counters.rejected_registrations, 2u);
  auto id = c.registerWith(again, 101, mine);
  ASSERT_TRUE(id.isOk()) << id.status().toString();
  EXPECT_TRUE(c.inboxOf(owner).closed) << "its own certificate takes over";
}

TEST(MasterState, RejoinWithTheTokenTakesOverTheConnection) {
  Cluster c;
  const auto a = c.join();
  c.allReady({a});
  protocol::Register again = rejoinOf(c, a);
  again.state = PeerState::kAccepted;
  again.revision = 1;
  const ConnectionId old_connection = c.connectionOf(a);
  auto id = c.registerWith(again, 200);
  ASSERT_TRUE(id.isOk()) << id.status().toString();
  EXPECT_TRUE(c.inboxOf(old_connection).closed) << "the old connection is dropped";
  ASSERT_EQ(c.inboxOf(200).registered.size(), 1u);
  EXPECT_EQ(c.inboxOf(200).registered[0].state, PeerState::kAccepted);
  EXPECT_EQ(c.inboxOf(200).registered[0].revision, 1u);
  // The old connection closing later does not remove the peer.
  c.disconnect(a, old_connection);
  EXPECT_TRUE(c.view(a).has_value());
}

TEST(MasterState, MissedHeartbeatsLoseThePeerAndTellTheOthers) {
  Cluster c;
  const auto a = c.join();
  c.allReady({a});
  const auto b = c.join();
  ASSERT_TRUE(c.vote(a, 1).isOk());
  c.allReady({a, b});
  c.now += 250ms;
  c.heartbeat(a);
  EXPECT_EQ(c.inbox(a).heartbeat_acks, 1);
  c.now += 100ms;  // b silent for 350 ms > 3 x 100 ms
  c.tick();
  EXPECT_FALSE(c.view(b).has_value());
  EXPECT_TRUE(c.inbox(b).closed) << "a frozen peer's connection is dropped by the master";
  ASSERT_FALSE(c.inbox(a).events.empty());
  EXPECT_EQ(c.inbox(a).events.back().kind, PeerEventKind::kLost);
  EXPECT_EQ(c.inbox(a).events.back().peer, b);
  EXPECT_TRUE(c.view(a).has_value());
  EXPECT_EQ(c.snapshot().counters.losses, 1u);
}

TEST(MasterState, ALossCompletesAVoteWaitingForThatPeer) {
  Cluster c;
  const auto a = c.join();
  c.allReady({a});
  const auto b = c.join();
  const auto d = c.join();
  ASSERT_TRUE(c.vote(a, 1).isOk());
  c.allReady({a, b, d});
  ASSERT_TRUE(c.vote(a, 2).isOk());
  ASSERT_TRUE(c.vote(b, 2).isOk());
  c.disconnect(d);
  ASSERT_EQ(c.inbox(a).topologies.back().revision, 3u);
  EXPECT_EQ(ids(c.inbox(a).topologies.back()), (std::vector<EndpointId>{a, b}));
  EXPECT_EQ(c.inbox(a).topologies.back().departed, std::vector<EndpointId>{d});
}

TEST(MasterState, ALossDuringSetUpRestartsWithTheSurvivors) {
  Cluster c;
  const auto a = c.join();
  c.allReady({a});
  const auto b = c.join();
  const auto d = c.join();
  ASSERT_TRUE(c.vote(a, 1).isOk());  // revision 2 being set up: a, b, d
  ASSERT_TRUE(c.ready(a, 2).isOk());
  c.disconnect(b);
  const auto& next = c.inbox(a).topologies.back();
  EXPECT_EQ(next.revision, 3u) << "a new revision: chunks of the failed attempt never mix in";
  EXPECT_EQ(ids(next), (std::vector<EndpointId>{a, d}));
  EXPECT_TRUE(c.ready(a, 2).isOk()) << "a stale report is ignored";
  EXPECT_TRUE(c.inbox(a).commits.size() == 1u);
  c.allReady({a, d});
  EXPECT_EQ(c.inbox(d).commits.back().revision, 3u);
}

TEST(MasterState, MembersThatNeverReportReadyAreEvicted) {
  Cluster c;
  const auto a = c.join();
  c.allReady({a});
  const auto b = c.join();
  ASSERT_TRUE(c.vote(a, 1).isOk());
  ASSERT_TRUE(c.ready(a, 2).isOk());
  c.now += 900ms;
  c.heartbeat(a);
  c.heartbeat(b);
  c.tick();
  EXPECT_TRUE(c.view(b).has_value()) << "still within the set-up timeout";
  c.now += 200ms;
  c.heartbeat(a);
  c.heartbeat(b);
  c.tick();
  EXPECT_FALSE(c.view(b).has_value());
  EXPECT_TRUE(c.inbox(b).closed);
  EXPECT_EQ(c.inbox(a).events.back().kind, PeerEventKind::kEvicted);
  EXPECT_EQ(ids(c.inbox(a).topologies.back()), std::vector<EndpointId>{a});
  EXPECT_EQ(c.snapshot().counters.evictions, 1u);
}

// A registration of a new peer on a new connection; with `evicted`, the
// process says which of its peers was evicted before (and proves it).
protocol::Register newcomer(ConnectionId connection, const EndpointId& evicted = {},
                            const protocol::PeerToken& evicted_token = {}) {
  protocol::Register request;
  request.peer = EndpointId::random();
  request.group = "g";
  request.host = "127.0.0.1";
  request.data_port = static_cast<uint16_t>(2000 + connection);
  if (!evicted.isZero()) {
    request.flags = protocol::Register::kFlagEvictedBefore;
    request.evicted_as = evicted;
    request.evicted_token = evicted_token;
  }
  return request;
}

// Time passes; `a` keeps heartbeating (so it is not lost meanwhile).
void pass(Cluster& c, const EndpointId& a, std::chrono::milliseconds duration) {
  for (auto left = duration; left > 0ms; left -= std::min(left, 50ms)) {
    c.now += std::min(left, 50ms);
    c.heartbeat(a);
    c.tick();
  }
}

// `joiner` (pending in a ring of `a` alone) never reports its channels up: evicted.
void evictAtSetUp(Cluster& c, const EndpointId& a, const EndpointId& joiner) {
  const uint64_t revision = c.inbox(a).commits.back().revision;
  ASSERT_TRUE(c.vote(a, revision).isOk());
  ASSERT_TRUE(c.ready(a, revision + 1).isOk());
  // Stops at the eviction: the back-off counts from there.
  for (int i = 0; i < 12 && c.view(joiner).has_value(); ++i) {
    c.now += 100ms;
    c.heartbeat(a);
    c.heartbeat(joiner);
    c.tick();
  }
  ASSERT_FALSE(c.view(joiner).has_value());
  ASSERT_EQ(c.inbox(a).events.back().kind, PeerEventKind::kEvicted);
  // The ring of `a` alone is set up again.
  ASSERT_TRUE(c.ready(a, c.inbox(a).topologies.back().revision).isOk());
  ASSERT_EQ(c.inbox(a).commits.back().revision, c.inbox(a).topologies.back().revision);
}

// A master with these back-offs; peer `a` is its ring, joiner `b` was just
// evicted (`b_token` proves its id).
struct AfterAnEviction {
  static MasterSettings settings(std::chrono::milliseconds backoff,
                                 std::chrono::milliseconds backoff_max) {
    MasterSettings s = Cluster::settings();
    s.rejoin_backoff = backoff;
    s.rejoin_backoff_max = backoff_max;
    return s;
  }
  AfterAnEviction(std::chrono::milliseconds backoff, std::chrono::milliseconds backoff_max)
      : c(settings(backoff, backoff_max)) {
    a = c.join();
    c.allReady({a});
    b = c.join();
    b_token = c.inbox(b).registered.back().token;
    evictAtSetUp(c, a, b);
  }
  Cluster c;
  EndpointId a, b;
  protocol::PeerToken b_token{};
};

TEST(MasterState, AnEvictedProcessRegistersAgainOnlyAfterABackoffThatDoubles) {
  AfterAnEviction t(1s, 3s);
  Cluster& c = t.c;
  const EndpointId& a = t.a;
  const EndpointId& b = t.b;
  const protocol::PeerToken& b_token = t.b_token;

  // Within the back-off: refused, and the reason says when to come back.
  pass(c, a, 900ms);
  auto early = c.registerWith(newcomer(100, b, b_token), 100);
  ASSERT_FALSE(early.isOk());
  EXPECT_EQ(early.status().code(), Code::kInvalidUsage);
  EXPECT_NE(early.status().message().find("may register again in 100 ms"), std::string::npos)
      << early.status().message();
  EXPECT_EQ(c.snapshot().counters.rejoins_refused, 1u);
  // A claim this master cannot verify changes nothing (it proves no eviction).
  protocol::PeerToken forged = b_token;
  forged[0] ^= 1;
  auto unproven = c.registerWith(newcomer(101, b, forged), 101);
  EXPECT_TRUE(unproven.isOk()) << unproven.status().toString();
  c.leave(*unproven);

  // After it: taken, as a new peer that carries the count on.
  pass(c, a, 100ms);
  auto second = c.registerWith(newcomer(102, b, b_token), 102);
  ASSERT_TRUE(second.isOk()) << second.status().toString();
  const protocol::PeerToken second_token = c.inbox(*second).registered.back().token;
  evictAtSetUp(c, a, *second);
  // Its second eviction: 2 s.
  pass(c, a, 1900ms);
  EXPECT_FALSE(c.registerWith(newcomer(103, *second, second_token), 103).isOk());
  pass(c, a, 100ms);
  auto third = c.registerWith(newcomer(104, *second, second_token), 104);
  ASSERT_TRUE(third.isOk()) << third.status().toString();
  const protocol::PeerToken third_token = c.inbox(*third).registered.back().token;
  evictAtSetUp(c, a, *third);
  // The third would be 4 s: capped at 3 s.
  pass(c, a, 2900ms);
  EXPECT_FALSE(c.registerWith(newcomer(105, *third, third_token), 105).isOk());
  pass(c, a, 100ms);
  EXPECT_TRUE(c.registerWith(newcomer(106, *third, third_token), 106).isOk());
  EXPECT_EQ(c.snapshot().counters.rejoins_refused, 3u);
  // A newcomer that names no eviction is never held back.
  EXPECT_TRUE(c.registerWith(newcomer(107), 107).isOk());
}

TEST(MasterState, AnEvictionIsForgottenAfterTheLongestBackoff) {
  AfterAnEviction t(1s, 2s);
  Cluster& c = t.c;
  const EndpointId& a = t.a;
  // 1 s of back-off + 2 s of memory: then the process starts afresh (its
  // next eviction's back-off is 1 s again, not 2 s).
  pass(c, a, 3s);
  auto again = c.registerWith(newcomer(100, t.b, t.b_token), 100);
  ASSERT_TRUE(again.isOk());
  const protocol::PeerToken again_token = c.inbox(*again).registered.back().token;
  evictAtSetUp(c, a, *again);
  pass(c, a, 1s);
  EXPECT_TRUE(c.registerWith(newcomer(101, *again, again_token), 101).isOk());
}

TEST(MasterState, LeavingIsAnnouncedAndNotAFailure) {
  Cluster c;
  const auto a = c.join();
  c.allReady({a});
  const auto b = c.join();
  ASSERT_TRUE(c.vote(a, 1).isOk());
  c.allReady({a, b});
  c.leave(b);
  EXPECT_FALSE(c.inbox(b).closed) << "the leaving peer closes its own connection";
  EXPECT_EQ(c.inbox(a).events.back().kind, PeerEventKind::kLeft);
  EXPECT_EQ(c.snapshot().counters.leaves, 1u);
  EXPECT_EQ(c.snapshot().counters.losses, 0u);
}

TEST(MasterState, GroupsAreIndependent) {
  Cluster c;
  const auto a = c.join("left");
  const auto b = c.join("right");
  EXPECT_EQ(ids(c.inbox(a).topologies.back()), std::vector<EndpointId>{a});
  EXPECT_EQ(ids(c.inbox(b).topologies.back()), std::vector<EndpointId>{b});
  c.allReady({a});
  c.allReady({b});
  EXPECT_TRUE(c.inbox(a).events.empty());
  EXPECT_EQ(c.snapshot().groups.size(), 2u);
}

// ---- A restarted master rebuilds its view from the peers that reconnect ----

struct Ring {
  std::vector<EndpointId> members;  // rank order
  std::map<EndpointId, protocol::PeerToken> tokens;
  uint64_t revision = 0;
};

// Three peers in one committed ring.
Ring formRing(Cluster& c) {
  const auto a = c.join();
  c.allReady({a});
  const auto b = c.join();
  const auto d = c.join();
  EXPECT_TRUE(c.vote(a, 1).isOk());
  c.allReady({a, b, d});
  Ring ring;
  ring.members = ids(c.inbox(a).topologies.back());
  ring.revision = c.inbox(a).commits.back().revision;
  for (const auto& id : ring.members)
    ring.tokens[id] = c.inbox(id).registered.front().token;
  return ring;
}

// What a member of `ring` says when it reconnects to a new master.
protocol::Register rejoin(const Ring& ring, size_t rank) {
  protocol::Register request;
  request.peer = ring.members[rank];
  request.token = ring.tokens.at(request.peer);
  request.group = "g";
  request.host = "127.0.0.1";
  request.data_port = static_cast<uint16_t>(2000 + rank);
  request.state = PeerState::kAccepted;
  request.revision = ring.revision;
  request.rank = static_cast<uint32_t>(rank);
  request.world_size = static_cast<uint32_t>(ring.members.size());
  return request;
}

MasterSettings restartedSettings(const MasterSettings& before, Clock::time_point now) {
  MasterSettings s = before;
  s.incarnation = before.incarnation + 1;
  s.rebuild_grace = 2s;
  s.hold_first_rings_until = now + s.rebuild_grace;
  return s;
}

TEST(MasterRestart, MembersRestoreTheirRingInRankOrder) {
  Cluster before;
  const Ring ring = formRing(before);
  Cluster after(restartedSettings(before.state().settings(), before.now));
  after.now = before.now;
  for (size_t rank : {2u, 0u, 1u}) {  // they come back in any order
    ASSERT_TRUE(after.registerWith(rejoin(ring, rank), 10 + rank).isOk());
    const auto& reply = after.inboxOf(10 + rank).registered.back();
    EXPECT_EQ(reply.state, PeerState::kAccepted);
    EXPECT_EQ(reply.revision, ring.revision);
    EXPECT_EQ(reply.incarnation, 8u);
    EXPECT_TRUE(after.inboxOf(10 + rank).events.empty()) << "a restored member is not a joiner";
  }
  for (size_t rank = 0; rank < 3; ++rank)
    EXPECT_EQ(after.view(ring.members[rank])->rank, static_cast<int>(rank));
  for (const auto& id : ring.members)
    ASSERT_TRUE(after.vote(id, ring.revision).isOk());
  const auto& topology = after.inbox(ring.members[0]).topologies.back();
  EXPECT_EQ(topology.revision, ring.revision + 1);
  EXPECT_EQ(ids(topology), ring.members);
}

TEST(MasterRestart, ARingWaitsForMissingMembersThenCarriesOnWithoutThem) {
  Cluster before;
  const Ring ring = formRing(before);
  Cluster after(restartedSettings(before.state().settings(), before.now));
  after.now = before.now;
  ASSERT_TRUE(after.registerWith(rejoin(ring, 0), 10).isOk());
  ASSERT_TRUE(after.registerWith(rejoin(ring, 1), 11).isOk());
  ASSERT_TRUE(after.vote(ring.members[0], ring.revision).isOk());
  ASSERT_TRUE(after.vote(ring.members[1], ring.revision).isOk());
  EXPECT_TRUE(after.inboxOf(10).topologies.empty()) << "rank 2 may still come back";
  after.now += 1s;
  after.heartbeat(ring.members[0]);
  after.heartbeat(ring.members[1]);
  after.now += 1s;
  after.heartbeat(ring.members[0]);
  after.heartbeat(ring.members[1]);
  after.tick();
  ASSERT_EQ(after.inboxOf(10).topologies.size(), 1u);
  EXPECT_EQ(ids(after.inboxOf(10).topologies[0]),
            (std::vector<EndpointId>{ring.members[0], ring.members[1]}));
}

TEST(MasterRestart, ANewcomerDoesNotFormARingBeforeTheOldOneIsBack) {
  Cluster before;
  const Ring ring = formRing(before);
  Cluster after(restartedSettings(before.state().settings(), before.now));
  after.now = before.now;
  const auto newcomer = after.join();
  EXPECT_TRUE(after.inbox(newcomer).topologies.empty());
  for (size_t rank = 0; rank < 3; ++rank)
    ASSERT_TRUE(after.registerWith(rejoin(ring, rank), 10 + rank).isOk());
  EXPECT_EQ(after.inboxOf(10).registered.back().state, PeerState::kAccepted);
  for (const auto& id : ring.members)
    ASSERT_TRUE(after.vote(id, ring.revision).isOk());
  auto expected = ring.members;
  expected.push_back(newcomer);
  ASSERT_FALSE(after.inbox(newcomer).topologies.empty());
  EXPECT_EQ(ids(after.inbox(newcomer).topologies.back()), expected);
}

TEST(MasterRestart, APeerThisMasterRemovedComesBackOnlyAsAJoiner) {
  Cluster c;
  const Ring ring = formRing(c);
  c.disconnect(ring.members[2]);
  ASSERT_TRUE(c.registerWith(rejoin(ring, 2), 50).isOk());
  EXPECT_EQ(c.inboxOf(50).registered.back().state, PeerState::kPending);
  EXPECT_EQ(c.view(ring.members[2])->state, PeerState::kPending);
}

TEST(MasterRestart, AReportThatDisagreesWithTheRebuiltRingJoinsAgain) {
  Cluster before;
  const Ring ring = formRing(before);
  Cluster after(restartedSettings(before.state().settings(), before.now));
  after.now = before.now;
  ASSERT_TRUE(after.registerWith(rejoin(ring, 0), 10).isOk());
  auto stale = rejoin(ring, 1);
  stale.revision = ring.revision - 1;
  ASSERT_TRUE(after.registerWith(stale, 11).isOk());
  EXPECT_EQ(after.inboxOf(11).registered.back().state, PeerState::kPending);
  auto twice = rejoin(ring, 2);
  twice.rank = 0;  // rank 0 is taken
  ASSERT_TRUE(after.registerWith(twice, 12).isOk());
  EXPECT_EQ(after.inboxOf(12).registered.back().state, PeerState::kPending);
}

}  // namespace
}  // namespace eccl::membership

namespace eccl::membership {
namespace {

using protocol::LookupResult;

TEST(PeerLookup, FindsAcceptedPeersOfAnyGroupByIdOrRank) {
  Cluster c;
  const auto a = c.join("stage-0");
  c.allReady({a});
  const auto b = c.join("stage-1");
  c.allReady({b});
  auto by_id = c.lookupId(a, b);
  EXPECT_EQ(by_id.result, LookupResult::kFound);
  EXPECT_EQ(by_id.peer, b);
  EXPECT_EQ(by_id.group, "stage-1");
  EXPECT_EQ(by_id.rank, 0u);
  EXPECT_EQ(by_id.host, "127.0.0.1");
  EXPECT_EQ(by_id.port, c.connectionOf(b) + 1000);
  auto by_rank = c.lookupRank(a, "stage-1", 0);
  EXPECT_EQ(by_rank.result, LookupResult::kFound);
  EXPECT_EQ(by_rank.peer, b);
  EXPECT_EQ(by_rank.port, by_id.port);
  EXPECT_EQ(c.snapshot().counters.lookups, 2u);
}

TEST(PeerLookup, UnknownAndPendingPeersAreNotFound) {
  Cluster c;
  const auto a = c.join("g");
  c.allReady({a});
  const auto pending = c.join("g");  // waits for a's vote
  EXPECT_EQ(c.lookupId(a, EndpointId::random()).result, LookupResult::kUnknown);
  EXPECT_EQ(c.lookupRank(a, "g", 1).result, LookupResult::kUnknown);
  EXPECT_EQ(c.lookupRank(a, "nope", 0).result, LookupResult::kUnknown);
  auto answer = c.lookupId(a, pending);
  EXPECT_EQ(answer.result, LookupResult::kNotAccepted);
  EXPECT_EQ(answer.peer, pending);
  EXPECT_TRUE(answer.host.empty());
}

TEST(PeerLookup, AskersOfOtherGroupsHearOfTheDeparture) {
  Cluster c;
  const auto a = c.join("stage-0");
  c.allReady({a});
  const auto b = c.join("stage-1");
  c.allReady({b});
  const auto d = c.join("stage-1");
  ASSERT_TRUE(c.vote(b, 1).isOk());
  c.allReady({b, d});
  ASSERT_EQ(c.lookupId(a, b).result, LookupResult::kFound);
  const size_t before = c.inbox(a).events.size();
  c.disconnect(b);
  ASSERT_EQ(c.inbox(a).events.size(), before + 1);
  EXPECT_EQ(c.inbox(a).events.back().kind, PeerEventKind::kLost);
  EXPECT_EQ(c.inbox(a).events.back().peer, b);
  EXPECT_EQ(c.inbox(a).events.back().revision, 0u) << "not a revision of a's group";
  // d hears of it as a member of b's group (once), with the group's revision.
  EXPECT_EQ(c.inbox(d).events.back().peer, b);
  EXPECT_NE(c.inbox(d).events.back().revision, 0u);
}

// ---- Joiners that fetch the shared state first -----------------------------------------

constexpr uint8_t kFetch = protocol::Register::kFlagFetchState;

TEST(MasterState, AFetchingJoinerIsNeitherCountedNorAdmittedUntilItsFetchEnds) {
  Cluster c;
  const auto a = c.join();
  c.allReady({a});
  const auto b = c.join("g", kFetch);
  c.tick();
  EXPECT_EQ(c.inbox(a).statuses.back().pending, 0u);
  ASSERT_EQ(c.snapshot().groups.size(), 1u);
  EXPECT_EQ(c.snapshot().groups[0].fetching, 1u);
  EXPECT_EQ(c.snapshot().groups[0].pending, 0u);
  // An update of the members meanwhile does not take it in.
  ASSERT_TRUE(c.vote(a, 1).isOk());
  ASSERT_EQ(c.inbox(a).topologies.size(), 2u);
  EXPECT_EQ(ids(c.inbox(a).topologies.back()), std::vector<EndpointId>{a});
  EXPECT_TRUE(c.inbox(b).topologies.empty());
  c.allReady({a});

  c.fetchRequest(b);
  EXPECT_TRUE(c.inbox(b).fetch_plans.empty()) << "served by the group's next sync";
  c.fetchDone(b);
  c.tick();
  EXPECT_EQ(c.inbox(a).statuses.back().pending, 1u);
  EXPECT_EQ(c.snapshot().groups[0].fetching, 0u);
  ASSERT_TRUE(c.vote(a, 2).isOk());
  EXPECT_EQ(ids(c.inbox(b).topologies.back()), (std::vector<EndpointId>{a, b}));
}

TEST(MasterState, AFetchingJoinerOfAnEmptyGroupIsAdmittedAtOnce) {
  Cluster c;
  const auto a = c.join("g", kFetch);
  ASSERT_EQ(c.inbox(a).topologies.size(), 1u);
  // Its request finds nothing to fetch: an empty plan says so.
  c.fetchRequest(a);
  ASSERT_EQ(c.inbox(a).fetch_plans.size(), 1u);
  EXPECT_EQ(c.inbox(a).fetch_plans[0].sync, 0u);
  EXPECT_EQ(c.inbox(a).fetch_plans[0].fetcher, a);
  EXPECT_TRUE(c.inbox(a).fetch_plans[0].transfers.empty());
}

TEST(MasterState, WhenTheLastMemberLeavesAFetchingJoinerFormsTheRing) {
  Cluster c;
  const auto a = c.join();
  c.allReady({a});
  const auto b = c.join("g", kFetch);
  c.fetchRequest(b);
  c.leave(a);
  ASSERT_EQ(c.inbox(b).fetch_plans.size(), 1u);
  EXPECT_TRUE(c.inbox(b).fetch_plans[0].transfers.empty());
  ASSERT_EQ(c.inbox(b).topologies.size(), 1u);
  EXPECT_EQ(ids(c.inbox(b).topologies[0]), std::vector<EndpointId>{b});
}

TEST(MasterState, AFetchingJoinerThatLeavesIsForgotten) {
  Cluster c;
  const auto a = c.join();
  c.allReady({a});
  const auto b = c.join("g", kFetch);
  c.fetchRequest(b);
  c.leave(b);
  c.fetchDone(b);  // late: ignored
  c.tick();
  EXPECT_EQ(c.inbox(a).statuses.back().pending, 0u);
  EXPECT_FALSE(c.view(b));
}

// ---- Fetches of another group's shared state ------------------------------------------

protocol::StateEntrySummary weights(uint64_t count, uint8_t content) {
  protocol::StateEntrySummary entry;
  entry.name = "w";
  entry.count = count;
  entry.dtype = 10;  // f32
  entry.hash.fill(content);
  return entry;
}

protocol::StateFetchRequest groupFetch(const std::string& group, uint64_t count = 1 << 20,
                                       uint64_t fetch = 1) {
  protocol::StateFetchRequest request;
  request.fetch = fetch;
  request.group = group;
  request.entries = {weights(count, 9)};
  return request;
}

// "a" holds stage-a's ring alone, "b" stage-b's.
struct TwoGroups {
  Cluster c;
  EndpointId a = c.join("stage-a");
  EndpointId b = c.join("stage-b");
  TwoGroups() {
    c.allReady({a});
    c.allReady({b});
  }
  GroupView group(const std::string& name) {
    for (const GroupView& g : c.snapshot().groups) {
      if (g.name == name) return g;
    }
    ADD_FAILURE() << "no group " << name;
    return {};
  }
};

TEST(GroupFetch, TheTargetGroupsNextSyncIsTheSnapshotAndTheFetcherJoinsNothing) {
  TwoGroups t;
  t.c.fetchRequest(t.b, groupFetch("stage-a"));
  EXPECT_TRUE(t.c.inbox(t.b).fetch_plans.empty()) << "served by stage-a's next sync";
  EXPECT_EQ(t.group("stage-a").fetching, 0u);
  t.c.stateVote(t.a, {weights(1 << 20, 1)});
  ASSERT_EQ(t.c.inbox(t.a).state_plans.size(), 1u);
  EXPECT_EQ(t.c.inbox(t.a).state_plans[0].kind, protocol::PlanKind::kSucceeded);
  // The fetcher's plan: 4 MiB from a, with both data addresses.
  ASSERT_EQ(t.c.inbox(t.b).fetch_plans.size(), 1u);
  const protocol::StateFetchPlan& plan = t.c.inbox(t.b).fetch_plans[0];
  EXPECT_EQ(plan.code, Code::kOk);
  EXPECT_EQ(plan.fetcher, t.b);
  ASSERT_EQ(plan.transfers.size(), 1u);
  EXPECT_EQ(plan.transfers[0].from, t.a);
  EXPECT_EQ(plan.transfers[0].bytes, uint64_t{4} << 20);
  EXPECT_EQ(plan.addresses.size(), 2u);
  ASSERT_EQ(t.c.inbox(t.a).fetch_plans.size(), 1u);  // the source's order
  EXPECT_EQ(t.c.inbox(t.a).fetch_plans[0].fetcher, t.b);
  t.c.fetchDone(t.b, /*fetch=*/1, plan.sync);
  t.c.tick();
  // b stays a member of stage-b only; stage-a neither counts nor admits it.
  EXPECT_EQ(t.group("stage-a").accepted, 1u);
  EXPECT_EQ(t.group("stage-a").pending, 0u);
  EXPECT_EQ(t.group("stage-b").accepted, 1u);
  EXPECT_EQ(t.group("stage-b").pending, 0u);
  t.c.stateVote(t.a, {weights(1 << 20, 2)});
  EXPECT_EQ(t.c.inbox(t.b).fetch_plans.size(), 1u) << "one snapshot per request";
  EXPECT_EQ(t.c.inbox(t.a).fetch_plans.size(), 1u);
}

TEST(GroupFetch, RequestsThatCannotBeServedAreRefusedAtOnce) {
  TwoGroups t;
  const auto lonely = t.c.join("stage-c");  // its ring is not set up: no accepted member
  auto refusal = [&](const protocol::StateFetchRequest& request) {
    const size_t before = t.c.inbox(t.b).fetch_plans.size();
    t.c.fetchRequest(t.b, request);
    EXPECT_EQ(t.c.inbox(t.b).fetch_plans.size(), before + 1);
    return t.c.inbox(t.b).fetch_plans.back();
  };
  auto plan = refusal(groupFetch("stage-x"));
  EXPECT_EQ(plan.code, Code::kInvalidArgument);
  EXPECT_EQ(plan.text, "no group 'stage-x': no peer of it is registered");
  plan = refusal(groupFetch("stage-c"));
  EXPECT_EQ(plan.code, Code::kPeerLost);
  EXPECT_EQ(plan.text, "group 'stage-c' has no accepted members: nobody holds its shared state");
  plan = refusal(groupFetch("stage-b"));
  EXPECT_EQ(plan.code, Code::kInvalidUsage);
  EXPECT_NE(plan.text.find("is a member of group 'stage-b'"), std::string::npos) << plan.text;
  protocol::StateFetchRequest empty = groupFetch("stage-a");
  empty.entries.clear();
  plan = refusal(empty);
  EXPECT_EQ(plan.code, Code::kInvalidArgument);
  EXPECT_EQ(plan.text, "a fetch of group 'stage-a's shared state names no entries");
  EXPECT_TRUE(plan.transfers.empty());
  // None of them waits for a sync.
  t.c.stateVote(t.a, {weights(1 << 20, 1)});
  EXPECT_EQ(t.c.inbox(t.b).fetch_plans.size(), 4u);
  EXPECT_TRUE(t.c.inbox(lonely).fetch_plans.empty());
}

TEST(GroupFetch, OtherEntriesThanTheGroupsGetTheJoinersError) {
  TwoGroups t;
  t.c.fetchRequest(t.b, groupFetch("stage-a", 1000));
  t.c.stateVote(t.a, {weights(1 << 20, 1)});
  EXPECT_EQ(t.c.inbox(t.a).state_plans.back().kind, protocol::PlanKind::kSucceeded);
  ASSERT_EQ(t.c.inbox(t.b).fetch_plans.size(), 1u);
  const protocol::StateFetchPlan& plan = t.c.inbox(t.b).fetch_plans[0];
  EXPECT_EQ(plan.code, Code::kInvalidUsage);
  EXPECT_NE(plan.text.find("does not match the group's: shared state entry 'w'"), std::string::npos)
      << plan.text;
  EXPECT_TRUE(t.c.inbox(t.a).fetch_plans.empty());
}

TEST(GroupFetch, ASecondRequestReplacesTheFirst) {
  TwoGroups t;
  const auto d = t.c.join("stage-d");
  t.c.allReady({d});
  t.c.fetchRequest(t.b, groupFetch("stage-a", 1 << 20, /*fetch=*/1));
  t.c.fetchRequest(t.b, groupFetch("stage-d", 1 << 20, /*fetch=*/2));
  t.c.stateVote(t.a, {weights(1 << 20, 1)});
  EXPECT_TRUE(t.c.inbox(t.b).fetch_plans.empty()) << "the request to stage-a was replaced";
  EXPECT_TRUE(t.c.inbox(t.a).fetch_plans.empty()) << "nor is stage-a told to serve it";
  t.c.fetchDone(t.b, /*fetch=*/1, 0);  // names the replaced fetch: does not end fetch 2
  t.c.stateVote(d, {weights(1 << 20, 1)});
  ASSERT_EQ(t.c.inbox(t.b).fetch_plans.size(), 1u);
  EXPECT_EQ(t.c.inbox(t.b).fetch_plans[0].fetch, 2u);
  EXPECT_EQ(t.c.inbox(t.b).fetch_plans[0].transfers.at(0).from, d);
}

TEST(GroupFetch, EveryPlanAndRefusalEchoesTheRequestsFetchNumber) {
  TwoGroups t;
  t.c.fetchRequest(t.b, groupFetch("stage-a", 1 << 20, /*fetch=*/41));
  t.c.stateVote(t.a, {weights(1 << 20, 1)});
  ASSERT_EQ(t.c.inbox(t.b).fetch_plans.size(), 1u);
  EXPECT_EQ(t.c.inbox(t.b).fetch_plans[0].fetch, 41u);
  ASSERT_EQ(t.c.inbox(t.a).fetch_plans.size(), 1u);
  EXPECT_EQ(t.c.inbox(t.a).fetch_plans[0].fetch, 41u) << "the source's order too";
  t.c.fetchDone(t.b, 41, t.c.inbox(t.b).fetch_plans[0].sync);
  // Refusals: at once, and of entries that do not match, at the sync.
  t.c.fetchRequest(t.b, groupFetch("stage-x", 1 << 20, /*fetch=*/42));
  ASSERT_EQ(t.c.inbox(t.b).fetch_plans.size(), 2u);
  EXPECT_EQ(t.c.inbox(t.b).fetch_plans[1].code, Code::kInvalidArgument);
  EXPECT_EQ(t.c.inbox(t.b).fetch_plans[1].fetch, 42u);
  t.c.fetchRequest(t.b, groupFetch("stage-a", 1000, /*fetch=*/43));
  t.c.stateVote(t.a, {weights(1 << 20, 2)});
  ASSERT_EQ(t.c.inbox(t.b).fetch_plans.size(), 3u);
  EXPECT_EQ(t.c.inbox(t.b).fetch_plans[2].code, Code::kInvalidUsage);
  EXPECT_EQ(t.c.inbox(t.b).fetch_plans[2].fetch, 43u);
  // 0 is a joiner's fetch: a fetch of another group must have a number of its own.
  t.c.fetchRequest(t.b, groupFetch("stage-a", 1 << 20, /*fetch=*/0));
  ASSERT_EQ(t.c.inbox(t.b).fetch_plans.size(), 4u);
  EXPECT_EQ(t.c.inbox(t.b).fetch_plans[3].code, Code::kInvalidArgument);
  EXPECT_EQ(t.c.inbox(t.b).fetch_plans[3].fetch, 0u);
  EXPECT_EQ(t.c.inbox(t.b).fetch_plans[3].text,
            "a fetch of another group's shared state needs a fetch number >= 1 (0 is a joiner's "
            "fetch)");
  t.c.stateVote(t.a, {weights(1 << 20, 3)});
  EXPECT_EQ(t.c.inbox(t.b).fetch_plans.size(), 4u) << "the refused request waits for nothing";
}

// The weakness this numbering closes: a fetch gives up (timeout) while the
// master already sent its plan; the plan crosses the fetch's StateFetchDone,
// and the fetcher's next fetch must not take it. The master's side: the
// abandoned fetch is forgotten, the next one gets a plan of its own (of a
// later sync) that names the new number only, and a stale Done of the old
// fetch does not end the new one.
TEST(GroupFetch, AnAbandonedFetchFollowedByANewOneGetsAPlanWithTheNewNumberOnly) {
  TwoGroups t;
  auto& plans = t.c.inbox(t.b).fetch_plans;
  t.c.fetchRequest(t.b, groupFetch("stage-a", 1 << 20, /*fetch=*/1));
  t.c.stateVote(t.a, {weights(1 << 20, 1)});
  ASSERT_EQ(plans.size(), 1u);  // on its way while the fetcher gives up
  EXPECT_EQ(plans[0].fetch, 1u);
  t.c.fetchDone(t.b, /*fetch=*/1, /*sync=*/0);  // timed out: it never saw the plan
  t.c.fetchRequest(t.b, groupFetch("stage-a", 1 << 20, /*fetch=*/2));
  t.c.fetchDone(t.b, /*fetch=*/1, /*sync=*/0);  // a stale Done again: fetch 2 stays
  t.c.stateVote(t.a, {weights(1 << 20, 2)});
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_EQ(plans[1].fetch, 2u);
  EXPECT_GT(plans[1].sync, plans[0].sync) << "a sync after the new request";
  ASSERT_EQ(t.c.inbox(t.a).fetch_plans.size(), 2u);
  EXPECT_EQ(t.c.inbox(t.a).fetch_plans[1].fetch, 2u);
  t.c.fetchDone(t.b, /*fetch=*/2, plans[1].sync);
  t.c.stateVote(t.a, {weights(1 << 20, 3)});
  EXPECT_EQ(plans.size(), 2u) << "fetch 2 ended with its Done";
  // Given up before any plan: the next sync plans only the new fetch.
  t.c.fetchRequest(t.b, groupFetch("stage-a", 1 << 20, /*fetch=*/3));
  t.c.fetchDone(t.b, /*fetch=*/3, /*sync=*/0);
  t.c.fetchRequest(t.b, groupFetch("stage-a", 1 << 20, /*fetch=*/4));
  t.c.stateVote(t.a, {weights(1 << 20, 4)});
  ASSERT_EQ(plans.size(), 3u);
  EXPECT_EQ(plans[2].fetch, 4u);
  EXPECT_EQ(t.group("stage-b").pending, 0u);
  EXPECT_EQ(t.group("stage-a").pending, 0u);
}

TEST(GroupFetch, AFetcherThatGaveUpOrLeftIsForgotten) {
  TwoGroups t;
  t.c.fetchRequest(t.b, groupFetch("stage-a"));
  t.c.fetchDone(t.b, /*fetch=*/1, 0);  // given up before its plan: ends the fetch, admits nothing
  t.c.stateVote(t.a, {weights(1 << 20, 1)});
  EXPECT_TRUE(t.c.inbox(t.b).fetch_plans.empty());
  EXPECT_EQ(t.group("stage-b").pending, 0u);
  t.c.fetchRequest(t.b, groupFetch("stage-a"));
  t.c.leave(t.b);
  t.c.stateVote(t.a, {weights(1 << 20, 2)});
  EXPECT_TRUE(t.c.inbox(t.a).fetch_plans.empty()) << "no order to serve a departed fetcher";
}

TEST(GroupFetch, AGroupThatLosesItsLastMemberRefusesItsWaitingFetchers) {
  TwoGroups t;
  t.c.fetchRequest(t.b, groupFetch("stage-a"));
  t.c.disconnect(t.a);
  ASSERT_EQ(t.c.inbox(t.b).fetch_plans.size(), 1u);
  EXPECT_EQ(t.c.inbox(t.b).fetch_plans[0].code, Code::kPeerLost);
  EXPECT_EQ(t.c.inbox(t.b).fetch_plans[0].text,
            "group 'stage-a' lost its last member before its next shared-state sync");
  EXPECT_EQ(t.c.inbox(t.b).fetch_plans[0].fetch, 1u);
  t.c.fetchDone(t.b, /*fetch=*/1, 0);  // harmless after the refusal
  EXPECT_EQ(t.group("stage-b").accepted, 1u);
}

}  // namespace
}  // namespace eccl::membership
