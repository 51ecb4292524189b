// Semantic checks of the membership control-plane decoders (control_messages.h):
// enums, ids, ranges, counts and string limits. Every rejection is a
// ProtocolError that names the message and the problem.
#include <gtest/gtest.h>

#include <array>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "tests/unit/protocol/message_samples.h"

namespace eccl::protocol::test {
namespace {

std::string refused(std::string_view type, const std::string& message) {
  return "ProtocolError: " + std::string(type) + ": " + message;
}

// ---- Register -------------------------------------------------------------------

// Where the state byte of a Register lies: after peer, token, group, host and data_port.
size_t registerStateOffset(const Register& m) {
  return 16 + 32 + 2 + m.group.size() + 2 + m.host.size() + 2;
}

// The start of a Register (peer and token) followed by a group that declares `declared` bytes.
std::vector<uint8_t> registerWithGroup(uint16_t declared, size_t present) {
  std::vector<uint8_t> payload = encodePayload(MessageTraits<Register>::sample());
  payload.resize(16 + 32);
  appendLe<uint16_t>(payload, declared);
  payload.insert(payload.end(), present, 'g');
  return payload;
}

TEST(RegisterValidation, SampleIsAccepted) {
  EXPECT_EQ(verdict(MessageTraits<Register>::sample()), "accepted");
}

TEST(RegisterValidation, FirstRegistrationOfANewPeer) {
  // Zero id and token, no rank or group size yet.
  Register m;
  m.group = "trainers";
  m.host = "10.1.2.3";
  m.data_port = 1;
  auto decoded = decodeMessage<Register>(encodePayload(m));
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  MessageTraits<Register>::expectSame(*decoded, m);
}

TEST(RegisterValidation, EveryStateDecodes) {
  for (PeerState state : {PeerState::kNew, PeerState::kPending, PeerState::kAccepted}) {
    Register m = MessageTraits<Register>::sample();
    m.state = state;
    auto decoded = decodeMessage<Register>(encodePayload(m));
    ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
    EXPECT_EQ(decoded->state, state);
  }
}

TEST(RegisterValidation, UnknownPeerState) {
  const Register sample = MessageTraits<Register>::sample();
  for (uint8_t state : {3, 4, 128, 255}) {
    std::vector<uint8_t> payload = encodePayload(sample);
    payload[registerStateOffset(sample)] = state;
    EXPECT_EQ(verdict<Register>(payload),
              refused("Register", "unknown peer state " + std::to_string(state)));
  }
}

TEST(RegisterValidation, UnknownFlags) {
  for (uint8_t flags : {4, 5, 0x80, 0xff}) {
    Register m = MessageTraits<Register>::sample();
    m.flags = flags;
    EXPECT_EQ(verdict(m),
              refused("Register", "unknown registration flags " + std::to_string(flags)));
  }
  Register none = MessageTraits<Register>::sample();
  none.flags = 0;
  EXPECT_EQ(verdict(none), "accepted");
}

TEST(RegisterValidation, EvictedBeforeCarriesTheEvictedIdAndToken) {
  Register m = MessageTraits<Register>::sample();
  m.flags |= Register::kFlagEvictedBefore;
  m.evicted_as = sampleId(0x20);
  m.evicted_token = sampleToken(0x60);
  auto decoded = decodeMessage<Register>(encodePayload(m));
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(decoded->evicted_as, m.evicted_as);
  EXPECT_EQ(decoded->evicted_token, m.evicted_token);
  // Without the flag the fields are not on the wire (and decode as zero).
  Register plain = MessageTraits<Register>::sample();
  plain.evicted_as = sampleId(0x20);
  auto decoded_plain = decodeMessage<Register>(encodePayload(plain));
  ASSERT_TRUE(decoded_plain.isOk());
  EXPECT_TRUE(decoded_plain->evicted_as.isZero());
}

TEST(RegisterValidation, EvictedBeforeWithoutAnIdOrCutShortIsRefused) {
  Register m = MessageTraits<Register>::sample();
  m.flags |= Register::kFlagEvictedBefore;
  EXPECT_EQ(verdict(m),
            refused("Register", "an evicted-before registration without the evicted id"));
  m.evicted_as = sampleId(0x20);
  std::vector<uint8_t> payload = encodePayload(m);
  payload.resize(payload.size() - 1);  // the token's last byte is missing
  EXPECT_NE(verdict<Register>(payload), "accepted");
}

TEST(RegisterValidation, StateIsCheckedFirst) {
  // A payload wrong in every way is refused for its state.
  Register m = MessageTraits<Register>::sample();
  m.peer = EndpointId{};
  m.host.clear();
  m.data_port = 0;
  m.rank = 9;
  m.world_size = 8;
  std::vector<uint8_t> payload = encodePayload(m);
  payload[registerStateOffset(m)] = 3;
  EXPECT_EQ(verdict<Register>(payload), refused("Register", "unknown peer state 3"));
}

TEST(RegisterValidation, NoDataAddress) {
  Register no_host = MessageTraits<Register>::sample();
  no_host.host.clear();
  EXPECT_EQ(verdict(no_host), refused("Register", "no data address"));
  Register no_port = MessageTraits<Register>::sample();
  no_port.data_port = 0;
  EXPECT_EQ(verdict(no_port), refused("Register", "no data address"));
  Register neither = MessageTraits<Register>::sample();
  neither.host.clear();
  neither.data_port = 0;
  EXPECT_EQ(verdict(neither), refused("Register", "no data address"));
  // ... which also goes for a new peer.
  Register fresh;
  fresh.data_port = 4000;
  EXPECT_EQ(verdict(fresh), refused("Register", "no data address"));
}

TEST(RegisterValidation, DataAddressLimitsAreInclusive) {
  Register m = MessageTraits<Register>::sample();
  m.host = "h";
  m.data_port = 1;
  EXPECT_EQ(verdict(m), "accepted");
  m.host = std::string(kMaxHostName, 'h');
  m.data_port = 65535;
  EXPECT_EQ(verdict(m), "accepted");
}

TEST(RegisterValidation, RankMustBeBelowWorldSize) {
  Register m = MessageTraits<Register>::sample();
  m.rank = 8;
  m.world_size = 8;
  EXPECT_EQ(verdict(m), refused("Register", "rank 8 outside a group of 8"));
  m.rank = 1;
  m.world_size = 1;
  EXPECT_EQ(verdict(m), refused("Register", "rank 1 outside a group of 1"));
  m.rank = std::numeric_limits<uint32_t>::max();
  m.world_size = 4;
  EXPECT_EQ(verdict(m), refused("Register", "rank 4294967295 outside a group of 4"));
}

TEST(RegisterValidation, RankLimitsAreInclusive) {
  Register m = MessageTraits<Register>::sample();
  m.rank = 0;
  m.world_size = 1;
  EXPECT_EQ(verdict(m), "accepted");
  m.rank = 7;
  m.world_size = 8;
  EXPECT_EQ(verdict(m), "accepted");
  m.rank = kMaxGroupMembers - 1;
  m.world_size = kMaxGroupMembers;
  EXPECT_EQ(verdict(m), "accepted");
}

TEST(RegisterValidation, WorldSizeZeroMeansNoRankYet) {
  // A peer that was never in a ring has no rank: world_size 0 is not a group of 0.
  Register m = MessageTraits<Register>::sample();
  m.state = PeerState::kPending;
  m.rank = 0;
  m.world_size = 0;
  EXPECT_EQ(verdict(m), "accepted");
}

TEST(RegisterValidation, WorldSizeAboveTheGroupLimit) {
  Register m = MessageTraits<Register>::sample();
  m.rank = 0;
  m.world_size = kMaxGroupMembers + 1;
  EXPECT_EQ(verdict(m), refused("Register", "rank 0 outside a group of 4097"));
  m.rank = 5000;
  m.world_size = 6000;  // the rank would fit: the group size alone is refused
  EXPECT_EQ(verdict(m), refused("Register", "rank 5000 outside a group of 6000"));
  m.rank = 1;
  m.world_size = std::numeric_limits<uint32_t>::max();
  EXPECT_EQ(verdict(m), refused("Register", "rank 1 outside a group of 4294967295"));
}

TEST(RegisterValidation, RejoiningPeerNeedsItsId) {
  for (PeerState state : {PeerState::kPending, PeerState::kAccepted}) {
    Register m = MessageTraits<Register>::sample();
    m.state = state;
    m.peer = EndpointId{};
    EXPECT_EQ(verdict(m), refused("Register", "a rejoining peer needs its id"))
        << static_cast<int>(state);
  }
  // A new peer has no id yet.
  Register fresh = MessageTraits<Register>::sample();
  fresh.state = PeerState::kNew;
  fresh.peer = EndpointId{};
  EXPECT_EQ(verdict(fresh), "accepted");
}

TEST(RegisterValidation, GroupLongerThanItsLimit) {
  Register m = MessageTraits<Register>::sample();
  m.group = std::string(kMaxGroupName + 1, 'g');
  EXPECT_EQ(verdict(m), refused("Register", "group is 129 bytes, limit 128"));
  // The limit is checked before the bytes are looked for.
  EXPECT_EQ(verdict<Register>(registerWithGroup(65535, 0)),
            refused("Register", "group is 65535 bytes, limit 128"));
  EXPECT_EQ(verdict<Register>(registerWithGroup(129, 0)),
            refused("Register", "group is 129 bytes, limit 128"));
  // At the limit: the group's bytes are there, the rest of the message is not.
  EXPECT_EQ(verdict<Register>(registerWithGroup(128, 128)),
            refused("Register", "truncated at host: need 2 bytes, have 0"));
  m.group = std::string(kMaxGroupName, 'g');
  EXPECT_EQ(verdict(m), "accepted");
}

TEST(RegisterValidation, HostLongerThanItsLimit) {
  Register m = MessageTraits<Register>::sample();
  m.host = std::string(kMaxHostName + 1, 'h');
  EXPECT_EQ(verdict(m), refused("Register", "host is 256 bytes, limit 255"));
  // Declared but absent: refused for the length, not as a truncation.
  std::vector<uint8_t> payload = registerWithGroup(1, 1);
  appendLe<uint16_t>(payload, 65535);
  EXPECT_EQ(verdict<Register>(payload), refused("Register", "host is 65535 bytes, limit 255"));
  m.host = std::string(kMaxHostName, 'h');
  EXPECT_EQ(verdict(m), "accepted");
}

TEST(RegisterValidation, EmptyGroupNameDecodes) {
  // The decoder leaves group names to the master.
  Register m = MessageTraits<Register>::sample();
  m.group.clear();
  EXPECT_EQ(verdict(m), "accepted");
}

TEST(RegisterValidation, LargestRegisterFitsTheFrameLimit) {
  Register m = MessageTraits<Register>::sample();
  m.group = std::string(kMaxGroupName, 'g');
  m.host = std::string(kMaxHostName, 'h');
  m.flags |= Register::kFlagEvictedBefore;
  m.evicted_as = sampleId(0x20);
  const std::vector<uint8_t> frame = encodeFrame(m, /*with_checksum=*/true);
  EXPECT_EQ(frame.size() - kFrameHeaderSize, Register::kMaxEncodedSize);
  EXPECT_EQ(frame.size() - kFrameHeaderSize, maxPayloadLength(MessageType::kRegister));
  auto header = decodeFrameHeader(frame);
  ASSERT_TRUE(header.isOk()) << header.status().toString();
  auto decoded = decodeMessage<Register>(std::span(frame).subspan(kFrameHeaderSize));
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  MessageTraits<Register>::expectSame(*decoded, m);
}

// ---- Registered -----------------------------------------------------------------

constexpr size_t kRegisteredStateOffset = 16 + 32 + 8 + 4 + 2;

TEST(RegisteredValidation, PendingAndAcceptedDecode) {
  for (PeerState state : {PeerState::kPending, PeerState::kAccepted}) {
    Registered m = MessageTraits<Registered>::sample();
    m.state = state;
    auto decoded = decodeMessage<Registered>(encodePayload(m));
    ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
    MessageTraits<Registered>::expectSame(*decoded, m);
  }
}

TEST(RegisteredValidation, NewIsNotAnAnswer) {
  // The master has admitted the peer: kNew is not a state it can report.
  Registered m = MessageTraits<Registered>::sample();
  m.state = PeerState::kNew;
  EXPECT_EQ(verdict(m), refused("Registered", "invalid peer state 0"));
}

TEST(RegisteredValidation, UnknownPeerState) {
  for (uint8_t state : {3, 255}) {
    std::vector<uint8_t> payload = encodePayload(MessageTraits<Registered>::sample());
    payload[kRegisteredStateOffset] = state;
    EXPECT_EQ(verdict<Registered>(payload),
              refused("Registered", "invalid peer state " + std::to_string(state)));
  }
}

TEST(RegisteredValidation, ZeroPeerId) {
  Registered m = MessageTraits<Registered>::sample();
  m.peer = EndpointId{};
  EXPECT_EQ(verdict(m), refused("Registered", "zero peer id"));
}

TEST(RegisteredValidation, ZeroHeartbeatIntervalOrMissLimit) {
  Registered no_interval = MessageTraits<Registered>::sample();
  no_interval.heartbeat_ms = 0;
  EXPECT_EQ(verdict(no_interval), refused("Registered", "zero heartbeat interval or miss limit"));
  Registered no_limit = MessageTraits<Registered>::sample();
  no_limit.miss_limit = 0;
  EXPECT_EQ(verdict(no_limit), refused("Registered", "zero heartbeat interval or miss limit"));
  Registered smallest = MessageTraits<Registered>::sample();
  smallest.heartbeat_ms = 1;
  smallest.miss_limit = 1;
  EXPECT_EQ(verdict(smallest), "accepted");
}

TEST(RegisteredValidation, ChecksAreOrdered) {
  // State, then id, then heartbeat settings.
  Registered m = MessageTraits<Registered>::sample();
  m.state = PeerState::kNew;
  m.peer = EndpointId{};
  m.heartbeat_ms = 0;
  EXPECT_EQ(verdict(m), refused("Registered", "invalid peer state 0"));
  m.state = PeerState::kPending;
  EXPECT_EQ(verdict(m), refused("Registered", "zero peer id"));
}

TEST(RegisteredValidation, ZeroTokenAndRevisionDecode) {
  Registered m = MessageTraits<Registered>::sample();
  m.token = PeerToken{};
  m.incarnation = 0;
  m.revision = 0;
  EXPECT_EQ(verdict(m), "accepted");
}

// ---- Fixed-size messages without rules --------------------------------------------

TEST(ControlCounterValidation, AnyValueDecodes) {
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  for (uint64_t value : {uint64_t{0}, kMax}) {
    auto heartbeat = decodeMessage<Heartbeat>(encodePayload(Heartbeat{value, kMax - value}));
    ASSERT_TRUE(heartbeat.isOk());
    EXPECT_EQ(heartbeat->seq, value);
    EXPECT_EQ(heartbeat->ops_completed, kMax - value);
    auto ack = decodeMessage<HeartbeatAck>(encodePayload(HeartbeatAck{value}));
    ASSERT_TRUE(ack.isOk());
    EXPECT_EQ(ack->seq, value);
    auto vote = decodeMessage<TopologyVote>(encodePayload(TopologyVote{value}));
    ASSERT_TRUE(vote.isOk());
    EXPECT_EQ(vote->revision, value);
    auto ready = decodeMessage<ChannelsReady>(encodePayload(ChannelsReady{value}));
    ASSERT_TRUE(ready.isOk());
    EXPECT_EQ(ready->revision, value);
    auto commit = decodeMessage<TopologyCommit>(encodePayload(TopologyCommit{value}));
    ASSERT_TRUE(commit.isOk());
    EXPECT_EQ(commit->revision, value);
    const uint32_t count = static_cast<uint32_t>(value);
    auto status = decodeMessage<GroupStatus>(encodePayload(GroupStatus{count, ~count, value}));
    ASSERT_TRUE(status.isOk());
    EXPECT_EQ(status->pending, count);
    EXPECT_EQ(status->accepted, ~count);
    EXPECT_EQ(status->revision, value);
  }
}

// ---- Topology -------------------------------------------------------------------

// Revision and a member count, nothing after.
std::vector<uint8_t> topologyHead(uint32_t count) {
  std::vector<uint8_t> payload;
  appendLe<uint64_t>(payload, 9);
  appendLe<uint32_t>(payload, count);
  return payload;
}

Member sampleMember(uint32_t i, size_t host_length = 12) {
  EndpointId id;
  for (size_t b = 0; b < id.bytes.size(); ++b)
    id.bytes[b] = static_cast<uint8_t>((i >> (8 * (b % 4))) + b + 1);
  std::string host(host_length, 'h');
  const std::string digits = std::to_string(i);
  std::copy(digits.begin(), digits.end(), host.begin());
  return Member{id, host, static_cast<uint16_t>(1 + i % 65535)};
}

// The largest Topology a master may send: kMaxGroupMembers members with the longest
// hosts, and as many departed ids.
Topology largestTopology() {
  Topology m;
  m.revision = std::numeric_limits<uint64_t>::max();
  for (uint32_t i = 0; i < kMaxGroupMembers; ++i)
    m.members.push_back(sampleMember(i, kMaxHostName));
  for (uint32_t i = 0; i < kMaxGroupMembers; ++i)
    m.departed.push_back(sampleMember(i + 100000).peer);
  return m;
}

TEST(TopologyValidation, SampleIsAccepted) {
  EXPECT_EQ(verdict(MessageTraits<Topology>::sample()), "accepted");
}

TEST(TopologyValidation, OneMemberAndNoDeparturesDecodes) {
  Topology m;
  m.revision = 0;
  m.members = {Member{sampleId(1), "a", 1}};
  auto decoded = decodeMessage<Topology>(encodePayload(m));
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  MessageTraits<Topology>::expectSame(*decoded, m);
}

TEST(TopologyValidation, MemberCountAboveTheLimitIsRefusedFromTheCount) {
  // Nothing after the count: refused for the count, not read as a truncation (and
  // nothing reserved for members that do not exist).
  EXPECT_EQ(verdict<Topology>(topologyHead(kMaxGroupMembers + 1)),
            refused("Topology", "member count 4097 exceeds 4096"));
  EXPECT_EQ(verdict<Topology>(topologyHead(std::numeric_limits<uint32_t>::max())),
            refused("Topology", "member count 4294967295 exceeds 4096"));
  // At the limit the count passes, and the members are looked for.
  EXPECT_EQ(verdict<Topology>(topologyHead(kMaxGroupMembers)),
            refused("Topology", "truncated at member peer: need 16 bytes, have 0"));
}

TEST(TopologyValidation, MemberCountAboveTheLimitWithTheMembersPresent) {
  Topology m;
  for (uint32_t i = 0; i <= kMaxGroupMembers; ++i)
    m.members.push_back(sampleMember(i));
  EXPECT_EQ(verdict(m), refused("Topology", "member count 4097 exceeds 4096"));
}

TEST(TopologyValidation, MemberWithoutIdOrAddress) {
  struct Case {
    size_t index;
    Member member;
  };
  const std::vector<Case> cases = {
      {0, Member{EndpointId{}, "host", 1}},  // no id
      {1, Member{sampleId(9), "", 1}},       // no host
      {2, Member{sampleId(9), "host", 0}},   // no port
      {1, Member{EndpointId{}, "", 0}},      // nothing
  };
  for (const Case& c : cases) {
    Topology m = MessageTraits<Topology>::sample();
    m.members[c.index] = c.member;
    EXPECT_EQ(verdict(m),
              refused("Topology", "member " + std::to_string(c.index) + " has no id or address"));
  }
}

TEST(TopologyValidation, FirstBadMemberIsNamed) {
  Topology m = MessageTraits<Topology>::sample();
  m.members[1].port = 0;
  m.members[2].host.clear();
  EXPECT_EQ(verdict(m), refused("Topology", "member 1 has no id or address"));
}

TEST(TopologyValidation, BadMemberIsRefusedBeforeTheRestIsRead) {
  // A bad first member and nothing after it: the member is named, not a truncation.
  Topology m;
  m.members = {Member{EndpointId{}, "h", 1}};
  std::vector<uint8_t> payload = encodePayload(m);
  payload.resize(payload.size() - 4);  // drop the departed count
  EXPECT_EQ(verdict<Topology>(payload), refused("Topology", "member 0 has no id or address"));
}

TEST(TopologyValidation, MemberHostLongerThanItsLimit) {
  Topology m = MessageTraits<Topology>::sample();
  m.members[2].host = std::string(kMaxHostName + 1, 'x');
  EXPECT_EQ(verdict(m), refused("Topology", "member host is 256 bytes, limit 255"));
  std::vector<uint8_t> payload = topologyHead(1);
  appendBytes(payload, sampleId(1).bytes);
  appendLe<uint16_t>(payload, 65535);
  EXPECT_EQ(verdict<Topology>(payload),
            refused("Topology", "member host is 65535 bytes, limit 255"));
  m.members[2].host = std::string(kMaxHostName, 'x');
  EXPECT_EQ(verdict(m), "accepted");
}

TEST(TopologyValidation, EmptyMemberList) {
  Topology m;
  m.revision = 4;
  EXPECT_EQ(verdict(m), refused("Topology", "a topology without members"));
  // ... also when everyone departed.
  m.departed = {sampleId(1), sampleId(2)};
  EXPECT_EQ(verdict(m), refused("Topology", "a topology without members"));
}

TEST(TopologyValidation, EmptyMemberListThatIsAlsoTruncated) {
  // The count is read in full before the list is judged.
  EXPECT_EQ(verdict<Topology>(topologyHead(0)),
            refused("Topology", "truncated at departed count: need 4 bytes, have 0"));
}

TEST(TopologyValidation, DepartedCountAboveTheLimit) {
  Topology m = MessageTraits<Topology>::sample();
  m.departed.clear();
  std::vector<uint8_t> payload = encodePayload(m);
  payload.resize(payload.size() - 4);
  appendLe<uint32_t>(payload, kMaxGroupMembers + 1);
  // Nothing after the count: refused for it before any id is read.
  EXPECT_EQ(verdict<Topology>(payload), refused("Topology", "departed count 4097 exceeds 4096"));
  payload.resize(payload.size() - 4);
  appendLe<uint32_t>(payload, std::numeric_limits<uint32_t>::max());
  EXPECT_EQ(verdict<Topology>(payload),
            refused("Topology", "departed count 4294967295 exceeds 4096"));
  payload.resize(payload.size() - 4);
  appendLe<uint32_t>(payload, kMaxGroupMembers);
  EXPECT_EQ(verdict<Topology>(payload),
            refused("Topology", "truncated at departed: need 16 bytes, have 0"));
}

TEST(TopologyValidation, DepartedCountAboveTheLimitWithTheIdsPresent) {
  Topology m = MessageTraits<Topology>::sample();
  m.departed.assign(kMaxGroupMembers + 1, sampleId(0x70));
  EXPECT_EQ(verdict(m), refused("Topology", "departed count 4097 exceeds 4096"));
  // The departed count is judged before the empty member list.
  m.members.clear();
  EXPECT_EQ(verdict(m), refused("Topology", "departed count 4097 exceeds 4096"));
}

TEST(TopologyValidation, MemberCountLargerThanTheListPresent) {
  Topology m;
  m.members = {Member{sampleId(1), "a", 1}};
  std::vector<uint8_t> payload = encodePayload(m);
  payload.resize(payload.size() - 4);  // no departed count: the payload ends after member 0
  payload[8] = 2;                      // claims two members
  EXPECT_EQ(verdict<Topology>(payload),
            refused("Topology", "truncated at member peer: need 16 bytes, have 0"));
}

TEST(TopologyValidation, DepartedCountSmallerThanTheListPresent) {
  Topology m = MessageTraits<Topology>::sample();
  std::vector<uint8_t> payload = encodePayload(m);
  const size_t departed_count_offset = payload.size() - 2 * 16 - 4;
  ASSERT_EQ(payload[departed_count_offset], 2);
  payload[departed_count_offset] = 1;
  EXPECT_EQ(verdict<Topology>(payload), refused("Topology", "16 trailing bytes"));
}

TEST(TopologyValidation, LargestTopologyFitsTheFrameLimitExactly) {
  const Topology largest = largestTopology();
  const std::vector<uint8_t> frame = encodeFrame(largest, /*with_checksum=*/true);
  const size_t payload_size = frame.size() - kFrameHeaderSize;
  EXPECT_EQ(payload_size, Topology::kMaxEncodedSize);
  EXPECT_LE(payload_size, maxPayloadLength(MessageType::kTopology));
  EXPECT_EQ(payload_size, maxPayloadLength(MessageType::kTopology));
  auto header = decodeFrameHeader(frame);
  ASSERT_TRUE(header.isOk()) << header.status().toString();
  EXPECT_EQ(header->length, payload_size);
  const auto payload = std::span(frame).subspan(kFrameHeaderSize);
  Status checksum = verifyChecksum(*header, payload);
  EXPECT_TRUE(checksum.isOk()) << checksum.toString();
  auto decoded = decodeMessage<Topology>(payload);
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(decoded->revision, largest.revision);
  EXPECT_EQ(decoded->members.size(), kMaxGroupMembers);
  EXPECT_EQ(decoded->departed.size(), kMaxGroupMembers);
  EXPECT_TRUE(decoded->members == largest.members);
  EXPECT_TRUE(decoded->departed == largest.departed);
}

TEST(TopologyValidation, FrameDeclaringMoreThanTheLargestTopologyIsRefused) {
  FrameHeader header;
  header.type = MessageType::kTopology;
  header.length = static_cast<uint32_t>(Topology::kMaxEncodedSize) + 1;
  std::array<uint8_t, kFrameHeaderSize> bytes{};
  encodeFrameHeader(header, bytes);
  auto decoded = decodeFrameHeader(bytes);
  ASSERT_FALSE(decoded.isOk());
  EXPECT_EQ(decoded.status().toString(),
            "ProtocolError: Topology frame declares 1323025 payload bytes, limit 1323024");
  header.length = std::numeric_limits<uint32_t>::max();
  encodeFrameHeader(header, bytes);
  EXPECT_EQ(decodeFrameHeader(bytes).status().toString(),
            "ProtocolError: Topology frame declares 4294967295 payload bytes, limit 1323024");
}

TEST(TopologyValidation, LargestTopologyPlusOneByteIsRefused) {
  // One more byte of payload than the largest topology: its frame is refused from the
  // header, and the payload itself for the byte past the end.
  const Topology largest = largestTopology();
  std::vector<uint8_t> frame = encodeFrame(largest);
  frame.push_back(0);
  FrameHeader header;
  header.type = MessageType::kTopology;
  header.length = static_cast<uint32_t>(frame.size() - kFrameHeaderSize);
  encodeFrameHeader(header, std::span<uint8_t, kFrameHeaderSize>(frame.data(), kFrameHeaderSize));
  EXPECT_EQ(decodeFrameHeader(frame).status().toString(),
            "ProtocolError: Topology frame declares 1323025 payload bytes, limit 1323024");
  EXPECT_EQ(verdict<Topology>(std::span(frame).subspan(kFrameHeaderSize)),
            refused("Topology", "1 trailing bytes"));
}

// ---- PeerEvent ------------------------------------------------------------------

TEST(PeerEventValidation, EveryKindDecodes) {
  for (PeerEventKind kind : {PeerEventKind::kJoined, PeerEventKind::kLeft, PeerEventKind::kLost,
                             PeerEventKind::kEvicted}) {
    PeerEvent m = MessageTraits<PeerEvent>::sample();
    m.kind = kind;
    auto decoded = decodeMessage<PeerEvent>(encodePayload(m));
    ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
    MessageTraits<PeerEvent>::expectSame(*decoded, m);
  }
}

TEST(PeerEventValidation, UnknownKind) {
  for (uint8_t kind : {0, 5, 6, 255}) {
    std::vector<uint8_t> payload = encodePayload(MessageTraits<PeerEvent>::sample());
    payload[0] = kind;
    EXPECT_EQ(verdict<PeerEvent>(payload),
              refused("PeerEvent", "unknown peer event kind " + std::to_string(kind)));
  }
}

// ---- Leave ----------------------------------------------------------------------

TEST(LeaveValidation, EmptyReasonDecodes) {
  EXPECT_EQ(verdict(Leave{}), "accepted");
}

TEST(LeaveValidation, ReasonLimits) {
  std::vector<uint8_t> payload;
  appendLe<uint16_t>(payload, 1025);
  payload.insert(payload.end(), 1025, 'l');
  EXPECT_EQ(verdict<Leave>(payload), refused("Leave", "reason is 1025 bytes, limit 1024"));
  // Declared but absent: refused for the length, not as a truncation.
  EXPECT_EQ(verdict<Leave>(withU16({0, 0}, 0, 65535)),
            refused("Leave", "reason is 65535 bytes, limit 1024"));

  Leave longest{std::string(kMaxReason, 'l')};
  const std::vector<uint8_t> frame = encodeFrame(longest);
  EXPECT_EQ(frame.size() - kFrameHeaderSize, Leave::kMaxEncodedSize);
  EXPECT_TRUE(decodeFrameHeader(frame).isOk());
  EXPECT_EQ(verdict(longest), "accepted");
}

TEST(LeaveValidation, EncoderCutsReasonToItsLimit) {
  Leave m{std::string(3000, 'r')};
  const std::vector<uint8_t> frame = encodeFrame(m);
  EXPECT_EQ(frame.size() - kFrameHeaderSize, Leave::kMaxEncodedSize);
  ASSERT_TRUE(decodeFrameHeader(frame).isOk());
  auto decoded = decodeMessage<Leave>(std::span(frame).subspan(kFrameHeaderSize));
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(decoded->reason, std::string(kMaxReason, 'r'));
}

TEST(LeaveValidation, ControlBytesInReasonArriveUnchanged) {
  // The decoder keeps peer text as sent; printable() sanitises it where it is shown.
  Leave m{std::string("bye\0\r\n\x1b[2J", 11)};
  auto decoded = decodeMessage<Leave>(encodePayload(m));
  ASSERT_TRUE(decoded.isOk());
  EXPECT_EQ(decoded->reason, m.reason);
}

// ---- ControlError ---------------------------------------------------------------

TEST(ControlErrorValidation, EveryErrorCodeDecodes) {
  for (int code = 1; code <= static_cast<int>(kLastCode); ++code) {
    ControlError m = MessageTraits<ControlError>::sample();
    m.code = static_cast<Code>(code);
    auto decoded = decodeMessage<ControlError>(encodePayload(m));
    ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
    MessageTraits<ControlError>::expectSame(*decoded, m);
  }
}

TEST(ControlErrorValidation, OkIsNotAnErrorCode) {
  std::vector<uint8_t> payload =
      withU16(encodePayload(MessageTraits<ControlError>::sample()), 0, 0);
  EXPECT_EQ(verdict<ControlError>(payload), refused("ControlError", "invalid error code 0"));
}

TEST(ControlErrorValidation, UnknownErrorCode) {
  for (uint16_t code : {13, 14, 256, 65535}) {
    std::vector<uint8_t> payload =
        withU16(encodePayload(MessageTraits<ControlError>::sample()), 0, code);
    EXPECT_EQ(verdict<ControlError>(payload),
              refused("ControlError", "invalid error code " + std::to_string(code)));
  }
}

TEST(ControlErrorValidation, TextLimits) {
  std::vector<uint8_t> payload;
  appendLe<uint16_t>(payload, static_cast<uint16_t>(Code::kInvalidUsage));
  appendLe<uint16_t>(payload, 1025);
  payload.insert(payload.end(), 1025, 't');
  EXPECT_EQ(verdict<ControlError>(payload),
            refused("ControlError", "text is 1025 bytes, limit 1024"));
  // The text's length is checked before the code.
  payload = withU16(payload, 0, 0);
  EXPECT_EQ(verdict<ControlError>(payload),
            refused("ControlError", "text is 1025 bytes, limit 1024"));

  ControlError longest = MessageTraits<ControlError>::sample();
  longest.text = std::string(kMaxReason, 't');
  const std::vector<uint8_t> frame = encodeFrame(longest);
  EXPECT_EQ(frame.size() - kFrameHeaderSize, ControlError::kMaxEncodedSize);
  EXPECT_TRUE(decodeFrameHeader(frame).isOk());
  EXPECT_EQ(verdict(longest), "accepted");
}

TEST(ControlErrorValidation, EncoderCutsTextToItsLimit) {
  ControlError m = MessageTraits<ControlError>::sample();
  m.text = std::string(5000, 'e');
  const std::vector<uint8_t> frame = encodeFrame(m);
  EXPECT_EQ(frame.size() - kFrameHeaderSize, ControlError::kMaxEncodedSize);
  ASSERT_TRUE(decodeFrameHeader(frame).isOk());
  auto decoded = decodeMessage<ControlError>(std::span(frame).subspan(kFrameHeaderSize));
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(decoded->text, std::string(kMaxReason, 'e'));
}

// ---- PeerLookup / PeerAddress ----------------------------------------------------

TEST(PeerLookupValidation, ByIdAndByGroupRankAreAccepted) {
  EXPECT_EQ(verdict(MessageTraits<PeerLookup>::sample()), "accepted");
  PeerLookup by_id;
  by_id.peer = sampleId(0x21);
  EXPECT_EQ(verdict(by_id), "accepted");
}

TEST(PeerLookupValidation, NamesAPeerOrAGroup) {
  EXPECT_EQ(verdict(PeerLookup{}), refused("PeerLookup", "a lookup names a peer id or a group"));
}

TEST(PeerLookupValidation, ByIdCarriesNoGroupOrRank) {
  PeerLookup m = MessageTraits<PeerLookup>::sample();
  m.peer = sampleId(0x21);
  EXPECT_EQ(verdict(m), refused("PeerLookup", "a lookup by id carries no group or rank"));
  m.group.clear();
  EXPECT_EQ(verdict(m), refused("PeerLookup", "a lookup by id carries no group or rank"));
}

TEST(PeerAddressValidation, NotFoundAnswersNeedNoAddress) {
  EXPECT_EQ(verdict(MessageTraits<PeerAddress>::sample()), "accepted");
  for (LookupResult result : {LookupResult::kUnknown, LookupResult::kNotAccepted}) {
    PeerAddress m;
    m.result = result;
    EXPECT_EQ(verdict(m), "accepted");
  }
}

TEST(PeerAddressValidation, UnknownResult) {
  std::vector<uint8_t> payload = encodePayload(MessageTraits<PeerAddress>::sample());
  payload[8] = 3;
  EXPECT_EQ(verdict<PeerAddress>(payload), refused("PeerAddress", "unknown lookup result 3"));
}

TEST(PeerAddressValidation, FoundNeedsIdGroupAndAddress) {
  const std::string why = "a found peer needs its id, group and data address";
  PeerAddress m = MessageTraits<PeerAddress>::sample();
  m.port = 0;
  EXPECT_EQ(verdict(m), refused("PeerAddress", why));
  m = MessageTraits<PeerAddress>::sample();
  m.host.clear();
  EXPECT_EQ(verdict(m), refused("PeerAddress", why));
  m = MessageTraits<PeerAddress>::sample();
  m.peer = EndpointId{};
  EXPECT_EQ(verdict(m), refused("PeerAddress", why));
  m = MessageTraits<PeerAddress>::sample();
  m.group.clear();
  EXPECT_EQ(verdict(m), refused("PeerAddress", why));
}

// ---- OpReport / OpVerdict ------------------------------------------------------------

TEST(OpOutcomeValidation, UnknownProgressAndDecisionAreRefused) {
  for (uint8_t bad : {0, 4, 255}) {
    std::vector<uint8_t> payload = encodePayload(MessageTraits<OpReport>::sample());
    payload.back() = bad;
    auto report = decodeMessage<OpReport>(payload);
    ASSERT_FALSE(report);
    EXPECT_EQ(report.status().code(), Code::kProtocolError);
    EXPECT_NE(report.status().message().find("unknown op progress " + std::to_string(bad)),
              std::string::npos)
        << report.status().toString();
    payload = encodePayload(MessageTraits<OpVerdict>::sample());
    payload.back() = bad;
    auto verdict = decodeMessage<OpVerdict>(payload);
    ASSERT_FALSE(verdict);
    EXPECT_NE(verdict.status().message().find("unknown op decision " + std::to_string(bad)),
              std::string::npos)
        << verdict.status().toString();
  }
}

}  // namespace
}  // namespace eccl::protocol::test
