// Exact encodings of the membership control-plane messages (control_messages.h),
// byte for byte against their little-endian layout: round trips cannot catch an
// encoder and decoder that agree on the wrong layout.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/protocol/message_samples.h"

namespace eccl::protocol::test {
namespace {

TEST(ControlMessageGolden, Register) {
  const Register m = MessageTraits<Register>::sample();
  std::vector<uint8_t> expected;
  appendBytes(expected, m.peer.bytes);
  appendBytes(expected, m.token);
  appendString(expected, "trainers");
  appendString(expected, "node-7.cluster");
  appendLe<uint16_t>(expected, 40001);
  appendLe<uint8_t>(expected, 2);  // PeerState::kAccepted
  appendLe<uint64_t>(expected, 0x3132333435363738ULL);
  appendLe<uint32_t>(expected, 5);
  appendLe<uint32_t>(expected, 8);
  appendLe<uint8_t>(expected, 1);   // kFlagFetchState
  appendLe<uint32_t>(expected, 2);  // stage
  appendLe<uint32_t>(expected, 5);  // num_stages
  EXPECT_EQ(encodePayload(m), expected);
  // Spot checks of the layout itself: the token follows the 16-byte id, the
  // group's u16 length follows the token.
  EXPECT_EQ(expected[16], 0x90);
  EXPECT_EQ(expected[47], static_cast<uint8_t>(0x90 + 2 * 31));
  EXPECT_EQ(expected[48], 8);
  EXPECT_EQ(expected[49], 0);
  EXPECT_EQ(expected.size(), 16u + 32 + 2 + 8 + 2 + 14 + 2 + 1 + 8 + 4 + 4 + 1 + 4 + 4);
}

TEST(ControlMessageGolden, RegisterOfANewPeer) {
  // A first registration: zero id and token, no rank yet.
  Register m;
  m.group = "g";
  m.host = "h";
  m.data_port = 0x0102;
  std::vector<uint8_t> expected(16 + 32, 0);  // zero peer id, zero token
  const std::vector<uint8_t> strings = {1, 0, 'g', 1, 0, 'h'};
  appendBytes(expected, strings);
  const std::vector<uint8_t> port_and_state = {0x02, 0x01, 0};  // data_port, PeerState::kNew
  appendBytes(expected, port_and_state);
  expected.resize(expected.size() + 8 + 4 + 4 + 1, 0);  // revision, rank, world_size, flags
  appendLe<uint32_t>(expected, 0xffffffffu);            // stage: kNoStage
  appendLe<uint32_t>(expected, 0);                      // num_stages
  EXPECT_EQ(encodePayload(m), expected);
}

TEST(ControlMessageGolden, RegisterAfterAnEvictionEndsWithTheEvictedIdAndToken) {
  Register m = MessageTraits<Register>::sample();
  const std::vector<uint8_t> without = encodePayload(m);
  m.flags |= Register::kFlagEvictedBefore;
  m.evicted_as = sampleId(0x20);
  m.evicted_token = sampleToken(0x60);
  std::vector<uint8_t> expected = without;
  expected[without.size() - 9] = 3;  // flags: kFlagFetchState | kFlagEvictedBefore
  appendBytes(expected, m.evicted_as.bytes);
  appendBytes(expected, m.evicted_token);
  EXPECT_EQ(encodePayload(m), expected);
}

TEST(ControlMessageGolden, RegisterWithLongestStringsIsTheDeclaredMaximum) {
  Register m = MessageTraits<Register>::sample();
  m.group = std::string(kMaxGroupName, 'g');
  m.host = std::string(kMaxHostName, 'h');
  m.flags |= Register::kFlagEvictedBefore;
  m.evicted_as = sampleId(0x20);
  EXPECT_EQ(encodePayload(m).size(), Register::kMaxEncodedSize);
  EXPECT_EQ(Register::kMaxEncodedSize, 511u);
}

TEST(ControlMessageGolden, Registered) {
  const Registered m = MessageTraits<Registered>::sample();
  std::vector<uint8_t> expected;
  appendBytes(expected, m.peer.bytes);
  appendBytes(expected, m.token);
  appendLe<uint64_t>(expected, 0x4142434445464748ULL);
  appendLe<uint32_t>(expected, 500);
  appendLe<uint16_t>(expected, 3);
  appendLe<uint8_t>(expected, 2);  // PeerState::kAccepted
  appendLe<uint64_t>(expected, 0x5152535455565758ULL);
  EXPECT_EQ(encodePayload(m), expected);
  // Fixed size: every Registered is exactly the declared size.
  EXPECT_EQ(expected.size(), Registered::kEncodedSize);
  EXPECT_EQ(Registered::kEncodedSize, 71u);
}

TEST(ControlMessageGolden, Heartbeat) {
  const std::vector<uint8_t> expected = {0x68, 0x67, 0x66, 0x65, 0x64, 0x63, 0x62, 0x61,
                                         0x78, 0x77, 0x76, 0x75, 0x74, 0x73, 0x72, 0x71};
  EXPECT_EQ(encodePayload(MessageTraits<Heartbeat>::sample()), expected);
  EXPECT_EQ(expected.size(), Heartbeat::kEncodedSize);
}

TEST(ControlMessageGolden, HeartbeatAck) {
  const std::vector<uint8_t> expected = {0x88, 0x87, 0x86, 0x85, 0x84, 0x83, 0x82, 0x81};
  EXPECT_EQ(encodePayload(MessageTraits<HeartbeatAck>::sample()), expected);
  EXPECT_EQ(expected.size(), HeartbeatAck::kEncodedSize);
}

TEST(ControlMessageGolden, TopologyVote) {
  const std::vector<uint8_t> expected = {0x98, 0x97, 0x96, 0x95, 0x94, 0x93, 0x92, 0x91};
  EXPECT_EQ(encodePayload(MessageTraits<TopologyVote>::sample()), expected);
  EXPECT_EQ(expected.size(), TopologyVote::kEncodedSize);
}

TEST(ControlMessageGolden, Topology) {
  const Topology m = MessageTraits<Topology>::sample();
  std::vector<uint8_t> expected;
  appendLe<uint64_t>(expected, 0x0102030405060708ULL);
  appendLe<uint32_t>(expected, 3);
  appendBytes(expected, sampleId(0x10).bytes);
  appendString(expected, "10.0.0.1");
  appendLe<uint16_t>(expected, 40001);
  appendBytes(expected, sampleCertificate(0x90));
  appendBytes(expected, sampleId(0x20).bytes);
  appendString(expected, "node-b");
  appendLe<uint16_t>(expected, 40002);
  appendBytes(expected, std::vector<uint8_t>(32, 0));  // no certificate
  appendBytes(expected, sampleId(0x30).bytes);
  appendString(expected, "fe80::1");
  appendLe<uint16_t>(expected, 0xffff);
  appendBytes(expected, sampleCertificate(0xb0));
  appendLe<uint32_t>(expected, 2);
  appendBytes(expected, sampleId(0x70).bytes);
  appendBytes(expected, sampleId(0x80).bytes);
  EXPECT_EQ(encodePayload(m), expected);
}

TEST(ControlMessageGolden, TopologyOfOneMemberByHand) {
  Topology m;
  m.revision = 1;
  EndpointId id;
  id.bytes.fill(0xab);
  m.members = {{id, "ab", 0x1234, {}}};
  m.members[0].certificate.fill(0xcd);
  // One literal: GCC 12 misreads an insert after a push_back as an overflow.
  const std::vector<uint8_t> expected = {
      1,    0,    0,    0,    0,    0,    0,    0,     // revision
      1,    0,    0,    0,                             // member count
      0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,  // member peer
      0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab, 0xab,  //
      2,    0,    'a',  'b',                           // member host
      0x34, 0x12,                                      // member port
      0xcd, 0xcd, 0xcd, 0xcd, 0xcd, 0xcd, 0xcd, 0xcd,  // member certificate
      0xcd, 0xcd, 0xcd, 0xcd, 0xcd, 0xcd, 0xcd, 0xcd,  //
      0xcd, 0xcd, 0xcd, 0xcd, 0xcd, 0xcd, 0xcd, 0xcd,  //
      0xcd, 0xcd, 0xcd, 0xcd, 0xcd, 0xcd, 0xcd, 0xcd,  //
      0,    0,    0,    0};                            // departed count
  EXPECT_EQ(encodePayload(m), expected);
}

TEST(ControlMessageGolden, TopologyDeclaredMaximum) {
  EXPECT_EQ(Topology::kMaxMemberSize, 307u);
  EXPECT_EQ(Topology::kMaxEncodedSize, 8u + 4 + 4096 * 307 + 4 + 4096 * 16);
  EXPECT_EQ(Topology::kMaxEncodedSize, 1323024u);
}

TEST(ControlMessageGolden, ChannelsReady) {
  const std::vector<uint8_t> expected = {0xa8, 0xa7, 0xa6, 0xa5, 0xa4, 0xa3, 0xa2, 0xa1};
  EXPECT_EQ(encodePayload(MessageTraits<ChannelsReady>::sample()), expected);
  EXPECT_EQ(expected.size(), ChannelsReady::kEncodedSize);
}

TEST(ControlMessageGolden, TopologyCommit) {
  const std::vector<uint8_t> expected = {0xb8, 0xb7, 0xb6, 0xb5, 0xb4, 0xb3, 0xb2, 0xb1};
  EXPECT_EQ(encodePayload(MessageTraits<TopologyCommit>::sample()), expected);
  EXPECT_EQ(expected.size(), TopologyCommit::kEncodedSize);
}

TEST(ControlMessageGolden, PeerEvent) {
  std::vector<uint8_t> expected = {3};  // PeerEventKind::kLost
  appendBytes(expected, sampleId(0x33).bytes);
  const std::vector<uint8_t> revision = {0xc8, 0xc7, 0xc6, 0xc5, 0xc4, 0xc3, 0xc2, 0xc1};
  appendBytes(expected, revision);
  EXPECT_EQ(encodePayload(MessageTraits<PeerEvent>::sample()), expected);
  EXPECT_EQ(expected.size(), PeerEvent::kEncodedSize);
}

TEST(ControlMessageGolden, GroupStatus) {
  const std::vector<uint8_t> expected = {0x04, 0x03, 0x02, 0x01, 0x14, 0x13, 0x12, 0x11,
                                         0xd8, 0xd7, 0xd6, 0xd5, 0xd4, 0xd3, 0xd2, 0xd1};
  EXPECT_EQ(encodePayload(MessageTraits<GroupStatus>::sample()), expected);
  EXPECT_EQ(expected.size(), GroupStatus::kEncodedSize);
}

TEST(ControlMessageGolden, Leave) {
  std::vector<uint8_t> expected = {17, 0};
  const std::string reason = "training finished";
  expected.insert(expected.end(), reason.begin(), reason.end());
  EXPECT_EQ(encodePayload(MessageTraits<Leave>::sample()), expected);
  EXPECT_EQ(encodePayload(Leave{}), (std::vector<uint8_t>{0, 0}));
}

TEST(ControlMessageGolden, ControlError) {
  std::vector<uint8_t> expected = {7, 0};  // Code::kTimeout
  appendString(expected, "vote for revision 6 is stale");
  EXPECT_EQ(encodePayload(MessageTraits<ControlError>::sample()), expected);
}

TEST(ControlMessageGolden, PeerLookup) {
  std::vector<uint8_t> expected = {8, 7, 6, 5, 4, 3, 2, 1};
  expected.resize(8 + 16, 0);  // peer: zero, a lookup by group and rank
  appendString(expected, "stage-2");
  appendBytes(expected, std::vector<uint8_t>{0x14, 0x13, 0x12, 0x11});
  EXPECT_EQ(encodePayload(MessageTraits<PeerLookup>::sample()), expected);
}

TEST(ControlMessageGolden, PeerAddress) {
  const PeerAddress m = MessageTraits<PeerAddress>::sample();
  std::vector<uint8_t> expected = {8, 7, 6, 5, 4, 3, 2, 1, 0};  // request, kFound
  appendBytes(expected, m.peer.bytes);
  appendString(expected, "stage-2");
  appendBytes(expected, std::vector<uint8_t>{3, 0, 0, 0});
  appendString(expected, "10.1.2.3");
  appendBytes(expected, std::vector<uint8_t>{0x34, 0x12});
  appendBytes(expected, sampleCertificate(0xc0));
  EXPECT_EQ(encodePayload(m), expected);
}

TEST(ControlMessageGolden, OpReportAndOpVerdict) {
  std::vector<uint8_t> expected = {8,    7,    6, 5, 4, 3, 2,    1,    0x14, 0x13,
                                   0x12, 0x11, 0, 0, 0, 0, 0x24, 0x23, 0x22, 0x21};
  std::vector<uint8_t> report = expected;
  report.push_back(2);  // OpProgress::kComplete
  EXPECT_EQ(encodePayload(MessageTraits<OpReport>::sample()), report);
  expected.push_back(3);  // OpDecision::kFailed
  EXPECT_EQ(encodePayload(MessageTraits<OpVerdict>::sample()), expected);
  EXPECT_EQ(static_cast<int>(OpProgress::kIncomplete), 1);
  EXPECT_EQ(static_cast<int>(OpProgress::kSucceeded), 3);
  EXPECT_EQ(static_cast<int>(OpDecision::kQuery), 1);
  EXPECT_EQ(static_cast<int>(OpDecision::kSucceeded), 2);
}

TEST(ControlMessageGolden, EnumNumbersAreStableOnTheWire) {
  // Register, Registered and PeerEvent carry these as numbers: renumbering breaks old peers.
  EXPECT_EQ(static_cast<uint8_t>(PeerState::kNew), 0);
  EXPECT_EQ(static_cast<uint8_t>(PeerState::kPending), 1);
  EXPECT_EQ(static_cast<uint8_t>(PeerState::kAccepted), 2);
  EXPECT_EQ(static_cast<uint8_t>(PeerEventKind::kJoined), 1);
  EXPECT_EQ(static_cast<uint8_t>(PeerEventKind::kLeft), 2);
  EXPECT_EQ(static_cast<uint8_t>(PeerEventKind::kLost), 3);
  EXPECT_EQ(static_cast<uint8_t>(PeerEventKind::kEvicted), 4);
  EXPECT_EQ(static_cast<uint16_t>(Code::kTimeout), 7);
  EXPECT_EQ(static_cast<uint8_t>(LookupResult::kFound), 0);
  EXPECT_EQ(static_cast<uint8_t>(LookupResult::kUnknown), 1);
  EXPECT_EQ(static_cast<uint8_t>(LookupResult::kNotAccepted), 2);
}

TEST(ControlMessageGolden, FrameOfAControlMessageIsHeaderThenPayload) {
  const TopologyCommit commit = MessageTraits<TopologyCommit>::sample();
  std::vector<uint8_t> expected = {'E', 'C', 'C', 'L', 1, 39, 0, 0, 8, 0, 0, 0};
  expected.resize(kFrameHeaderSize, 0);  // reserved and checksum: zero without the flag
  appendBytes(expected, encodePayload(commit));
  EXPECT_EQ(encodeFrame(commit), expected);
}

TEST(ControlMessageGolden, ChecksummedFrameOfAControlMessage) {
  const Heartbeat heartbeat = MessageTraits<Heartbeat>::sample();
  const std::vector<uint8_t> payload = encodePayload(heartbeat);
  std::vector<uint8_t> expected = {'E', 'C', 'C', 'L', 1, 34, 1, 0, 16, 0, 0, 0, 0, 0, 0, 0};
  appendLe<uint64_t>(expected, payloadChecksum(payload));
  appendBytes(expected, payload);
  EXPECT_EQ(encodeFrame(heartbeat, /*with_checksum=*/true), expected);
}

}  // namespace
}  // namespace eccl::protocol::test
