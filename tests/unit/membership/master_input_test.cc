// An in-process master fed bytes no well-behaved peer sends: malformed frames,
// silence, connection floods, stolen ids and votes out of phase. Each test
// checks that the culprit's connection is closed (or its request refused), that
// the counters say exactly what happened, and that the master still serves a
// well-behaved communicator afterwards (so its loop is neither dead nor stuck).
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <functional>
#include <optional>
#include <thread>

#include "src/comm/communicator.h"
#include "src/membership/master_server.h"
#include "src/protocol/messages.h"
#include "tests/support/raw_socket.h"
#include "tests/support/test_env.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using membership::MasterSnapshot;
using protocol::MessageType;
using SteadyClock = std::chrono::steady_clock;

constexpr auto kHeartbeat = 100ms;

// A frame as read off a socket.
struct Frame {
  protocol::FrameHeader header;
  std::vector<uint8_t> payload;
};

// A blocking client that speaks frames, for dialogues with the master.
class FrameSocket {
 public:
  explicit FrameSocket(uint16_t port) : socket_(port) {}

  bool valid() const { return socket_.valid(); }
  bool send(std::span<const uint8_t> bytes) { return socket_.send(bytes); }
  template <typename Message>
  bool sendMessage(const Message& message) {
    return send(protocol::encodeFrame(message));
  }

  // The next frame; nothing on timeout, end of stream or a frame that does not decode.
  std::optional<Frame> read(std::chrono::milliseconds timeout) {
    const auto end = SteadyClock::now() + timeout;
    std::vector<uint8_t> head(protocol::kFrameHeaderSize);
    if (!socket_.readExactly(head, end)) return std::nullopt;
    auto header = protocol::decodeFrameHeader(head);
    if (!header) return std::nullopt;
    Frame frame{*header, std::vector<uint8_t>(header->length)};
    if (!socket_.readExactly(frame.payload, end)) return std::nullopt;
    return frame;
  }

  // Reads until a frame of `type`, skipping the master's broadcasts (GroupStatus,
  // PeerEvent) into `skipped`; nothing if anything else comes first.
  template <typename Message>
  std::optional<Message> expect(std::chrono::milliseconds timeout,
                                std::vector<MessageType>* skipped = nullptr) {
    const auto end = SteadyClock::now() + timeout;
    while (true) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - SteadyClock::now());
      auto frame = read(std::max(left, 0ms));
      if (!frame) return std::nullopt;
      if (frame->header.type == Message::kType) {
        auto message = protocol::decodeMessage<Message>(frame->payload);
        if (!message) return std::nullopt;
        return *message;
      }
      if (frame->header.type != MessageType::kGroupStatus &&
          frame->header.type != MessageType::kPeerEvent) {
        ADD_FAILURE() << "expected " << protocol::messageTypeName(Message::kType) << ", got "
                      << protocol::messageTypeName(frame->header.type);
        return std::nullopt;
      }
      if (skipped != nullptr) skipped->push_back(frame->header.type);
    }
  }

  // True once the master closed or reset the connection (frames before it are dropped).
  bool waitClosedByPeer(std::chrono::milliseconds timeout) {
    return socket_.waitClosedByPeer(timeout);
  }

 private:
  RawSocket socket_;
};

// A frame header with any byte values, valid or not.
std::vector<uint8_t> rawHeader(uint8_t type, uint32_t length, uint16_t flags = 0,
                               uint8_t version = protocol::kProtocolVersion) {
  std::vector<uint8_t> bytes(protocol::kFrameHeaderSize, 0);
  std::copy(protocol::kMagic.begin(), protocol::kMagic.end(), bytes.begin());
  bytes[4] = version;
  bytes[5] = type;
  bytes[6] = static_cast<uint8_t>(flags);
  bytes[7] = static_cast<uint8_t>(flags >> 8);
  for (int i = 0; i < 4; ++i)
    bytes[8 + i] = static_cast<uint8_t>(length >> (8 * i));
  return bytes;
}

uint8_t typeByte(MessageType type) {
  return static_cast<uint8_t>(type);
}

protocol::Register makeRegister(const EndpointId& id, const std::string& group) {
  protocol::Register request;
  request.peer = id;
  request.group = group;
  request.host = "127.0.0.1";
  request.data_port = 9;  // never dialled: these peers never reach a ring of several
  return request;
}

class MasterInput : public ::testing::Test {
 protected:
  void TearDown() override {
    comms_.clear();
    if (master_) {
      master_->stop();
      thread_.join();
    }
  }

  // Starts the master; tests that need other limits change `options` first.
  void startMaster(std::function<void(membership::MasterOptions&)> adjust = {}) {
    membership::MasterOptions options;
    options.listen_host = "127.0.0.1";
    options.settings.heartbeat = kHeartbeat;
    // Raw dialogue peers do not heartbeat; keep them from being lost mid-test.
    options.settings.miss_limit = static_cast<uint16_t>(deadline(10s) / kHeartbeat);
    options.settings.token_key = membership::randomTokenKey();
    // Long, so that a close within a few seconds is the bad input's doing.
    options.register_timeout = 60s;
    if (adjust) adjust(options);
    auto master = membership::MasterServer::create(options);
    ASSERT_TRUE(master) << master.status().toString();
    master_ = std::move(*master);
    thread_ = std::thread([this] { EXPECT_TRUE(master_->run().isOk()); });
  }

  comm::Communicator& addComm(const std::string& group) {
    comm::CommOptions options;
    options.master_host = "127.0.0.1";
    options.master_port = master_->port();
    options.group = group;
    options.listen_host = "127.0.0.1";
    options.channel.connections = 1;
    auto comm = comm::Communicator::create(options);
    EXPECT_TRUE(comm) << comm.status().toString();
    comms_.push_back(std::move(*comm));
    return *comms_.back();
  }

  // The first snapshot that satisfies `done`, polled until the deadline.
  std::optional<MasterSnapshot> waitSnapshot(const std::function<bool(const MasterSnapshot&)>& done,
                                             std::chrono::milliseconds timeout) {
    const auto end = SteadyClock::now() + timeout;
    while (true) {
      MasterSnapshot snapshot = master_->snapshot();
      if (done(snapshot)) return snapshot;
      if (SteadyClock::now() > end) return std::nullopt;
      std::this_thread::sleep_for(10ms);
    }
  }

  static const membership::GroupView* findGroup(const MasterSnapshot& s, const std::string& name) {
    auto it = std::find_if(s.groups.begin(), s.groups.end(),
                           [&](const membership::GroupView& g) { return g.name == name; });
    return it == s.groups.end() ? nullptr : &*it;
  }
  static const membership::PeerView* findPeer(const MasterSnapshot& s, const EndpointId& id) {
    auto it = std::find_if(s.peers.begin(), s.peers.end(),
                           [&](const membership::PeerView& p) { return p.id == id; });
    return it == s.peers.end() ? nullptr : &*it;
  }

  // A well-behaved communicator in a fresh group connects and updates, and a
  // snapshot taken after that shows it: the master is alive, unblocked, and its
  // snapshot fresh. Returns that snapshot (it includes the probe: one
  // registration, one vote, two commits).
  MasterSnapshot expectServesProbe() {
    const std::string group = "probe-" + std::to_string(++probes_);
    auto& probe = addComm(group);
    Status connected = probe.connect(deadline(15s));
    EXPECT_TRUE(connected.isOk()) << connected.toString();
    Status updated = probe.updateTopology(deadline(10s));
    EXPECT_TRUE(updated.isOk()) << updated.toString();
    EXPECT_EQ(probe.revision(), 2u);
    auto snapshot = waitSnapshot(
        [&](const MasterSnapshot& s) {
          const auto* g = findGroup(s, group);
          const auto* p = findPeer(s, probe.peerId());
          return g != nullptr && g->revision == 2 && p != nullptr &&
                 p->state == protocol::PeerState::kAccepted;
        },
        deadline(5s));
    EXPECT_TRUE(snapshot.has_value()) << "the snapshot never showed the probe's update";
    return snapshot.value_or(MasterSnapshot{});
  }

  std::unique_ptr<membership::MasterServer> master_;
  std::thread thread_;
  std::vector<std::unique_ptr<comm::Communicator>> comms_;
  int probes_ = 0;
};

// ---- First bytes that are not a Register frame -----------------------------

struct BadOpening {
  const char* name;
  std::vector<uint8_t> bytes;
};

class BadOpeningTest : public MasterInput, public ::testing::WithParamInterface<BadOpening> {};

std::vector<uint8_t> validRegisterFrame(bool with_checksum) {
  return protocol::encodeFrame(makeRegister(EndpointId::random(), "g"), with_checksum);
}

std::vector<BadOpening> badOpenings() {
  std::vector<BadOpening> cases;
  std::string http = "GET /status HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  cases.push_back({"Garbage", {http.begin(), http.end()}});
  cases.push_back({"UnknownType", rawHeader(200, 8)});
  cases.push_back({"TypeBetweenRanges", rawHeader(20, 8)});
  cases.push_back({"UnsupportedVersion", rawHeader(typeByte(MessageType::kRegister), 8, 0, 2)});
  cases.push_back({"UnknownFlags", rawHeader(typeByte(MessageType::kRegister), 8, 0x80)});
  // Only the header is sent: the length is refused before any payload is awaited.
  cases.push_back({"RegisterLongerThanItsMaximum",
                   rawHeader(typeByte(MessageType::kRegister),
                             static_cast<uint32_t>(protocol::Register::kMaxEncodedSize + 1))});
  cases.push_back({"HeartbeatOf4GiB", rawHeader(typeByte(MessageType::kHeartbeat), 0xffffffffu)});
  {
    auto frame = validRegisterFrame(true);
    frame[16] ^= 0x01;  // the checksum no longer matches the payload
    cases.push_back({"RegisterWithBadChecksum", frame});
  }
  {
    auto frame = validRegisterFrame(true);
    frame.back() ^= 0x01;  // a payload bit flipped in transit
    cases.push_back({"RegisterWithCorruptPayload", frame});
  }
  {
    // A Register cut short, its header declaring the shorter length.
    auto frame = validRegisterFrame(false);
    frame.resize(frame.size() - 5);
    const auto length = static_cast<uint32_t>(frame.size() - protocol::kFrameHeaderSize);
    auto header = rawHeader(typeByte(MessageType::kRegister), length);
    std::copy(header.begin(), header.end(), frame.begin());
    cases.push_back({"TruncatedRegister", frame});
  }
  {
    auto frame = validRegisterFrame(false);
    frame.push_back(0);  // one trailing byte, declared in the length
    const auto length = static_cast<uint32_t>(frame.size() - protocol::kFrameHeaderSize);
    auto header = rawHeader(typeByte(MessageType::kRegister), length);
    std::copy(header.begin(), header.end(), frame.begin());
    cases.push_back({"RegisterWithTrailingByte", frame});
  }
  {
    protocol::Hello hello;
    hello.endpoint = EndpointId::random();
    hello.channel = EndpointId::random();
    hello.chunk_bytes = 1 << 20;
    cases.push_back({"DataPlaneHello", protocol::encodeFrame(hello)});
  }
  cases.push_back({"DataPlaneChunk", rawHeader(typeByte(MessageType::kChunk),
                                               protocol::ChunkHeader::kEncodedSize + 16)});
  cases.push_back({"DataPlanePing", protocol::encodeFrame(protocol::Ping{42})});
  cases.push_back({"HeartbeatBeforeRegister", protocol::encodeFrame(protocol::Heartbeat{1, 0})});
  cases.push_back({"VoteBeforeRegister", protocol::encodeFrame(protocol::TopologyVote{1})});
  cases.push_back({"LeaveBeforeRegister", protocol::encodeFrame(protocol::Leave{"bye"})});
  cases.push_back({"MasterOnlyTopologyCommit", protocol::encodeFrame(protocol::TopologyCommit{1})});
  return cases;
}

TEST_P(BadOpeningTest, ClosesTheConnectionAndRegistersNothing) {
  startMaster();
  RawSocket culprit(master_->port());
  ASSERT_TRUE(culprit.valid());
  ASSERT_TRUE(culprit.send(GetParam().bytes));
  EXPECT_TRUE(culprit.waitClosedByPeer(deadline(2s)))
      << "the master kept a connection that sent " << GetParam().name;

  MasterSnapshot s = expectServesProbe();
  EXPECT_EQ(s.counters.registrations, 1u) << "the probe only";
  EXPECT_EQ(s.counters.rejected_registrations, 0u) << "refused by the framing, not the state";
  EXPECT_EQ(s.counters.votes, 1u);
  EXPECT_EQ(s.counters.commits, 2u);
  EXPECT_EQ(s.counters.losses, 0u);
  EXPECT_EQ(s.peers.size(), 1u);
}

INSTANTIATE_TEST_SUITE_P(Frames, BadOpeningTest, ::testing::ValuesIn(badOpenings()),
                         [](const ::testing::TestParamInfo<BadOpening>& test) {
                           return std::string(test.param.name);
                         });

// ---- Silence -----------------------------------------------------------------

TEST_F(MasterInput, SilentConnectionIsClosedAfterTheRegisterTimeout) {
  startMaster([](auto& o) { o.register_timeout = 300ms; });
  const auto start = SteadyClock::now();
  RawSocket silent(master_->port());
  ASSERT_TRUE(silent.valid());
  // Half a header, then nothing: a stalled frame is no registration either.
  RawSocket stalled(master_->port());
  ASSERT_TRUE(stalled.valid());
  const auto header = rawHeader(typeByte(MessageType::kRegister), 100);
  ASSERT_TRUE(stalled.send(std::span(header).first(10)));

  EXPECT_FALSE(silent.waitClosedByPeer(200ms)) << "closed before its register timeout";
  EXPECT_TRUE(silent.waitClosedByPeer(deadline(3s)));
  EXPECT_GE(SteadyClock::now() - start, 300ms);
  EXPECT_TRUE(stalled.waitClosedByPeer(deadline(1s)));

  MasterSnapshot s = expectServesProbe();
  EXPECT_EQ(s.counters.registrations, 1u);
  EXPECT_EQ(s.counters.rejected_registrations, 0u);
  EXPECT_EQ(s.peers.size(), 1u);
}

// ---- A flood of connections ----------------------------------------------------

TEST_F(MasterInput, ConnectionBurstBeyondTheUnregisteredLimitIsShed) {
  constexpr int kBurst = 1000;
  constexpr int kLimit = 100;
  // Both ends of every connection live in this process.
  rlimit files{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &files), 0);
  if (files.rlim_cur < 4 * kBurst) {
    files.rlim_cur = std::min<rlim_t>(files.rlim_max, 4 * kBurst);
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &files), 0);
  }
  ASSERT_GE(files.rlim_cur, static_cast<rlim_t>(2 * kBurst + 200)) << "RLIMIT_NOFILE too low";

  const auto register_timeout = deadline(4s);
  startMaster([&](auto& o) {
    o.max_unregistered = kLimit;
    o.max_unregistered_per_host = kLimit;  // the burst comes from one address
    o.register_timeout = register_timeout;
  });
  std::vector<std::unique_ptr<RawSocket>> burst;
  const auto burst_start = SteadyClock::now();
  for (int i = 0; i < kBurst; ++i) {
    burst.push_back(std::make_unique<RawSocket>(master_->port()));
    ASSERT_TRUE(burst.back()->valid()) << "connect " << i << " failed";
  }
  // The first kLimit accepted are held (until they register or time out); the rest are shed.
  std::vector<bool> closed(kBurst, false);
  int shed = 0;
  const auto count_until = SteadyClock::now() + deadline(3s);
  while (shed < kBurst - kLimit && SteadyClock::now() < count_until) {
    for (int i = 0; i < kBurst; ++i) {
      if (!closed[i] && burst[i]->waitClosedByPeer(2ms)) {  // 1 ms rounds to no wait
        closed[i] = true;
        ++shed;
      }
    }
  }
  ASSERT_LT(SteadyClock::now() - burst_start, register_timeout) << "counting took too long";
  EXPECT_EQ(shed, kBurst - kLimit);
  // Nothing more is closed before the held ones' register timeout.
  for (int i = 0; i < kBurst; ++i) {
    if (!closed[i]) {
      EXPECT_FALSE(burst[i]->waitClosedByPeer(2ms)) << "held connection " << i;
    }
  }

  // While the held connections fill the limit, a peer is refused; its client
  // retries, and gets in once the master has timed them out.
  auto& peer = addComm("g");
  Status connected = peer.connect(register_timeout + deadline(10s));
  EXPECT_TRUE(connected.isOk()) << connected.toString();
  EXPECT_EQ(peer.worldSize(), 1);
  for (int i = 0; i < kBurst; ++i) {
    if (!closed[i]) {
      EXPECT_TRUE(burst[i]->waitClosedByPeer(deadline(1s))) << "held " << i;
    }
  }

  MasterSnapshot s = expectServesProbe();
  EXPECT_EQ(s.counters.registrations, 2u) << "the peer and the probe";
  EXPECT_EQ(s.counters.rejected_registrations, 0u);
  EXPECT_EQ(s.peers.size(), 2u);
}

TEST_F(MasterInput, OneHostCannotFillTheUnregisteredTable) {
  constexpr int kPerHost = 3;
  startMaster([&](auto& o) {
    o.max_unregistered_per_host = kPerHost;
    o.register_timeout = deadline(5s);
  });
  std::vector<std::unique_ptr<RawSocket>> flood;
  for (int i = 0; i < kPerHost + 2; ++i) {
    flood.push_back(std::make_unique<RawSocket>(master_->port(), "127.0.0.2"));
    ASSERT_TRUE(flood.back()->valid());
  }
  int shed = 0;
  for (auto& socket : flood)
    shed += socket->waitClosedByPeer(300ms) ? 1 : 0;
  EXPECT_EQ(shed, 2) << "connections beyond the per-host limit are dropped";

  // Another address is not held back by that host, and registers.
  RawSocket other(master_->port(), "127.0.0.3");
  ASSERT_TRUE(other.valid());
  EXPECT_FALSE(other.waitClosedByPeer(300ms));
  auto& peer = addComm("g");
  Status connected = peer.connect(deadline(10s));
  EXPECT_TRUE(connected.isOk()) << connected.toString();
}

// ---- Stolen ids and tokens ------------------------------------------------------

TEST_F(MasterInput, RegistrationClaimingAnotherPeersIdIsRefused) {
  startMaster();
  auto& owner = addComm("g");
  ASSERT_TRUE(owner.connect(deadline(10s)).isOk());

  // A legitimate raw peer in another group, for a token that is valid for its id only.
  FrameSocket honest(master_->port());
  ASSERT_TRUE(honest.valid());
  const EndpointId honest_id = EndpointId::random();
  ASSERT_TRUE(honest.sendMessage(makeRegister(honest_id, "h")));
  auto registered = honest.expect<protocol::Registered>(deadline(5s));
  ASSERT_TRUE(registered.has_value());
  ASSERT_EQ(registered->peer, honest_id);
  // Alone in its group, it is admitted at once.
  auto ring = honest.expect<protocol::Topology>(deadline(5s));
  ASSERT_TRUE(ring.has_value());
  ASSERT_TRUE(honest.sendMessage(protocol::ChannelsReady{ring->revision}));
  ASSERT_TRUE(honest.expect<protocol::TopologyCommit>(deadline(5s)).has_value());

  struct Claim {
    const char* what;
    EndpointId id;
    protocol::PeerToken token;
    std::string expected_text;
  };
  protocol::PeerToken forged{};
  forged.fill(0x5a);
  const std::vector<Claim> claims = {
      {"existing id, no token", owner.peerId(), {}, "already registered"},
      {"existing id, another peer's token", owner.peerId(), registered->token, "did not issue"},
      {"new id, another peer's token", EndpointId::random(), registered->token, "did not issue"},
      {"existing id, forged token", honest_id, forged, "did not issue"},
  };
  for (const Claim& claim : claims) {
    SCOPED_TRACE(claim.what);
    FrameSocket thief(master_->port());
    ASSERT_TRUE(thief.valid());
    auto request = makeRegister(claim.id, "g");
    request.token = claim.token;
    ASSERT_TRUE(thief.sendMessage(request));
    auto refusal = thief.expect<protocol::ControlError>(deadline(5s));
    ASSERT_TRUE(refusal.has_value());
    EXPECT_EQ(refusal->code, Code::kInvalidUsage);
    EXPECT_NE(refusal->text.find(claim.expected_text), std::string::npos) << refusal->text;
    EXPECT_TRUE(thief.waitClosedByPeer(deadline(2s)));
  }
  // A registration the state refuses for its content is refused the same way.
  {
    FrameSocket anonymous(master_->port());
    ASSERT_TRUE(anonymous.sendMessage(makeRegister(EndpointId{}, "g")));
    auto refusal = anonymous.expect<protocol::ControlError>(deadline(5s));
    ASSERT_TRUE(refusal.has_value());
    EXPECT_EQ(refusal->code, Code::kInvalidArgument);
    EXPECT_TRUE(anonymous.waitClosedByPeer(deadline(2s)));
  }

  // The owners of the ids are untouched: the raw one still gets its acks, the
  // communicator still updates.
  ASSERT_TRUE(honest.sendMessage(protocol::Heartbeat{77, 0}));
  auto ack = honest.expect<protocol::HeartbeatAck>(deadline(5s));
  ASSERT_TRUE(ack.has_value());
  EXPECT_EQ(ack->seq, 77u);
  ASSERT_TRUE(owner.updateTopology(deadline(10s)).isOk());
  EXPECT_EQ(owner.revision(), 2u);
  EXPECT_EQ(owner.rank(), 0);

  MasterSnapshot s = expectServesProbe();
  EXPECT_EQ(s.counters.rejected_registrations, claims.size() + 1);
  EXPECT_EQ(s.counters.registrations, 3u) << "owner, honest, probe";
  EXPECT_EQ(s.counters.losses, 0u);
  EXPECT_EQ(s.counters.evictions, 0u);
  EXPECT_EQ(s.peers.size(), 3u);
  const auto* owner_view = findPeer(s, owner.peerId());
  ASSERT_NE(owner_view, nullptr);
  EXPECT_EQ(owner_view->state, protocol::PeerState::kAccepted);
  EXPECT_EQ(owner_view->rank, 0);
  ASSERT_NE(findPeer(s, honest_id), nullptr);
}

// ---- Votes and reports out of phase ---------------------------------------------

TEST_F(MasterInput, PendingPeerCannotVoteOrReportChannels) {
  startMaster();
  auto& accepted = addComm("g");
  ASSERT_TRUE(accepted.connect(deadline(10s)).isOk());
  ASSERT_EQ(accepted.revision(), 1u);

  FrameSocket pending(master_->port());
  ASSERT_TRUE(pending.valid());
  const EndpointId pending_id = EndpointId::random();
  ASSERT_TRUE(pending.sendMessage(makeRegister(pending_id, "g")));
  auto registered = pending.expect<protocol::Registered>(deadline(5s));
  ASSERT_TRUE(registered.has_value());
  EXPECT_EQ(registered->state, protocol::PeerState::kPending);
  EXPECT_EQ(registered->revision, 1u);

  // A vote from a pending peer is refused, and the peer kept.
  ASSERT_TRUE(pending.sendMessage(protocol::TopologyVote{1}));
  auto refusal = pending.expect<protocol::ControlError>(deadline(5s));
  ASSERT_TRUE(refusal.has_value());
  EXPECT_EQ(refusal->code, Code::kInvalidUsage);
  EXPECT_NE(refusal->text.find("before it was accepted"), std::string::npos) << refusal->text;
  // ChannelsReady with no topology being set up is stale: silently ignored. The
  // heartbeat's ack, answered in order, shows that nothing came in between.
  for (uint64_t revision : {1u, 2u, 99u})
    ASSERT_TRUE(pending.sendMessage(protocol::ChannelsReady{revision}));
  ASSERT_TRUE(pending.sendMessage(protocol::Heartbeat{5, 0}));
  auto ack = pending.expect<protocol::HeartbeatAck>(deadline(5s));
  ASSERT_TRUE(ack.has_value()) << "the master answered the stale reports or dropped the peer";
  EXPECT_EQ(ack->seq, 5u);

  auto s = waitSnapshot(
      [&](const MasterSnapshot& snap) {
        const auto* p = findPeer(snap, pending_id);
        return p != nullptr && p->heartbeats == 1;
      },
      deadline(5s));
  ASSERT_TRUE(s.has_value());
  const auto* group = findGroup(*s, "g");
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->revision, 1u);
  EXPECT_EQ(group->accepted, 1u);
  EXPECT_EQ(group->pending, 1u);
  EXPECT_EQ(group->votes, 0u);
  EXPECT_FALSE(group->reconfiguring);
  EXPECT_EQ(s->counters.votes, 0u);
  EXPECT_EQ(s->counters.commits, 1u);
  EXPECT_EQ(findPeer(*s, pending_id)->state, protocol::PeerState::kPending);
  EXPECT_EQ(accepted.revision(), 1u);
  EXPECT_EQ(accepted.worldSize(), 1);
  EXPECT_EQ(accepted.peersPending(), 1);

  expectServesProbe();
}

TEST_F(MasterInput, WrongRevisionsNeverAdvanceTheGroup) {
  startMaster();
  // A raw peer alone in its group: admitted at once, it must report its channels.
  FrameSocket peer(master_->port());
  ASSERT_TRUE(peer.valid());
  const EndpointId id = EndpointId::random();
  ASSERT_TRUE(peer.sendMessage(makeRegister(id, "solo")));
  ASSERT_TRUE(peer.expect<protocol::Registered>(deadline(5s)).has_value());
  auto first = peer.expect<protocol::Topology>(deadline(5s));
  ASSERT_TRUE(first.has_value());
  ASSERT_EQ(first->revision, 1u);
  ASSERT_EQ(first->members.size(), 1u);
  EXPECT_EQ(first->members[0].peer, id);

  // Before the commit the peer is not accepted: its vote is refused.
  ASSERT_TRUE(peer.sendMessage(protocol::TopologyVote{0}));
  ASSERT_TRUE(peer.expect<protocol::ControlError>(deadline(5s)).has_value());
  // A report for another revision does not commit this one.
  ASSERT_TRUE(peer.sendMessage(protocol::ChannelsReady{2}));
  ASSERT_TRUE(peer.sendMessage(protocol::Heartbeat{1, 0}));
  ASSERT_TRUE(peer.expect<protocol::HeartbeatAck>(deadline(5s)).has_value())
      << "a stale ChannelsReady was answered";
  ASSERT_TRUE(peer.sendMessage(protocol::ChannelsReady{1}));
  auto commit = peer.expect<protocol::TopologyCommit>(deadline(5s));
  ASSERT_TRUE(commit.has_value());
  EXPECT_EQ(commit->revision, 1u);

  // Accepted at revision 1: votes for any other revision are refused.
  for (uint64_t revision : {0u, 2u, 1000u}) {
    ASSERT_TRUE(peer.sendMessage(protocol::TopologyVote{revision}));
    auto refusal = peer.expect<protocol::ControlError>(deadline(5s));
    ASSERT_TRUE(refusal.has_value()) << "vote at " << revision;
    EXPECT_EQ(refusal->code, Code::kInvalidUsage);
    EXPECT_NE(refusal->text.find("the group is at 1"), std::string::npos) << refusal->text;
  }
  // The right vote starts revision 2; reports for other revisions leave it open.
  ASSERT_TRUE(peer.sendMessage(protocol::TopologyVote{1}));
  auto second = peer.expect<protocol::Topology>(deadline(5s));
  ASSERT_TRUE(second.has_value());
  ASSERT_EQ(second->revision, 2u);
  for (uint64_t revision : {1u, 3u})
    ASSERT_TRUE(peer.sendMessage(protocol::ChannelsReady{revision}));
  ASSERT_TRUE(peer.sendMessage(protocol::Heartbeat{2, 0}));
  ASSERT_TRUE(peer.expect<protocol::HeartbeatAck>(deadline(5s)).has_value())
      << "a stale ChannelsReady was answered";
  auto open = waitSnapshot(
      [&](const MasterSnapshot& snap) {
        const auto* p = findPeer(snap, id);
        return p != nullptr && p->heartbeats == 2;
      },
      deadline(5s));
  ASSERT_TRUE(open.has_value());
  const auto* group = findGroup(*open, "solo");
  ASSERT_NE(group, nullptr);
  EXPECT_EQ(group->revision, 1u);
  EXPECT_TRUE(group->reconfiguring);
  EXPECT_EQ(open->counters.votes, 1u);
  EXPECT_EQ(open->counters.commits, 1u);

  ASSERT_TRUE(peer.sendMessage(protocol::ChannelsReady{2}));
  commit = peer.expect<protocol::TopologyCommit>(deadline(5s));
  ASSERT_TRUE(commit.has_value());
  EXPECT_EQ(commit->revision, 2u);

  MasterSnapshot s = expectServesProbe();
  EXPECT_EQ(s.counters.votes, 2u) << "the peer's and the probe's";
  EXPECT_EQ(s.counters.commits, 4u);
  EXPECT_EQ(s.counters.losses, 0u);
  const auto* solo = findGroup(s, "solo");
  ASSERT_NE(solo, nullptr);
  EXPECT_EQ(solo->revision, 2u);
  EXPECT_FALSE(solo->reconfiguring);
}

TEST_F(MasterInput, RegisteredPeerSendingGarbageIsDroppedAsLost) {
  startMaster();
  auto& watcher = addComm("g");
  ASSERT_TRUE(watcher.connect(deadline(10s)).isOk());
  FrameSocket peer(master_->port());
  const EndpointId id = EndpointId::random();
  ASSERT_TRUE(peer.sendMessage(makeRegister(id, "g")));
  ASSERT_TRUE(peer.expect<protocol::Registered>(deadline(5s)).has_value());
  // A second Register on a registered connection is not a frame it may send.
  ASSERT_TRUE(peer.sendMessage(makeRegister(id, "g")));
  EXPECT_TRUE(peer.waitClosedByPeer(deadline(2s)));

  // The group hears of the loss.
  std::optional<comm::Event> event;
  const auto until = SteadyClock::now() + deadline(5s);
  while (SteadyClock::now() < until) {
    event = watcher.pollEvent();
    if (event && event->kind != comm::EventKind::kJoined) break;
    std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(event.has_value());
  EXPECT_EQ(event->kind, comm::EventKind::kLost);
  EXPECT_EQ(event->peer, id);

  MasterSnapshot s = expectServesProbe();
  EXPECT_EQ(s.counters.losses, 1u);
  EXPECT_EQ(s.counters.registrations, 3u);
  EXPECT_EQ(findPeer(s, id), nullptr);
  EXPECT_EQ(watcher.worldSize(), 1);
}

}  // namespace
}  // namespace eccl::test
