// The 24-byte frame header: its exact layout, round trips for every type and
// allowed flag, and rejection of every malformed header before any payload.
#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "src/protocol/state_messages.h"
#include "tests/unit/protocol/message_samples.h"

namespace eccl::protocol::test {
namespace {

using HeaderBytes = std::array<uint8_t, kFrameHeaderSize>;

const std::vector<MessageType> kAllTypes = {MessageType::kHello,
                                            MessageType::kHelloAck,
                                            MessageType::kChunk,
                                            MessageType::kCredit,
                                            MessageType::kPoolCredit,
                                            MessageType::kStreamError,
                                            MessageType::kPing,
                                            MessageType::kGoodbye,
                                            MessageType::kDelivered,
                                            MessageType::kRegister,
                                            MessageType::kRegistered,
                                            MessageType::kHeartbeat,
                                            MessageType::kHeartbeatAck,
                                            MessageType::kTopologyVote,
                                            MessageType::kTopology,
                                            MessageType::kChannelsReady,
                                            MessageType::kTopologyCommit,
                                            MessageType::kPeerEvent,
                                            MessageType::kGroupStatus,
                                            MessageType::kLeave,
                                            MessageType::kControlError,
                                            MessageType::kPeerLookup,
                                            MessageType::kPeerAddress,
                                            MessageType::kOpReport,
                                            MessageType::kOpVerdict,
                                            MessageType::kStateVote,
                                            MessageType::kStatePlan,
                                            MessageType::kStateDone,
                                            MessageType::kStateFetchRequest,
                                            MessageType::kStateFetchPlan,
                                            MessageType::kStateFetchDone,
                                            MessageType::kStageMetric,
                                            MessageType::kStageQuery,
                                            MessageType::kStageInfo,
                                            MessageType::kStageEvent,
                                            MessageType::kStageAnnounce,
                                            MessageType::kPeerReport,
                                            MessageType::kAnomalyEvent};

HeaderBytes encode(const FrameHeader& header) {
  HeaderBytes bytes{};
  encodeFrameHeader(header, bytes);
  return bytes;
}

// A well-formed Credit header to corrupt one field at a time.
HeaderBytes validCreditHeader() {
  FrameHeader header;
  header.type = MessageType::kCredit;
  header.length = Credit::kEncodedSize;
  return encode(header);
}

std::string verdict(std::span<const uint8_t> bytes) {
  auto decoded = decodeFrameHeader(bytes);
  return decoded ? "accepted" : decoded.status().toString();
}

TEST(FrameHeader, ExactLayout) {
  FrameHeader header;
  header.type = MessageType::kChunk;
  header.flags = kFlagChecksum | kFlagHedge;
  header.length = 0x00a1b2c3;
  header.checksum = 0x0807060504030201ULL;
  const HeaderBytes expected = {'E', 'C', 'C', 'L', 1,    3,    0x05, 0x00, 0xc3, 0xb2, 0xa1, 0x00,
                                0,   0,   0,   0,   0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
  EXPECT_EQ(encode(header), expected);
}

TEST(FrameHeader, TypeNumbersAreStable) {
  EXPECT_EQ(static_cast<int>(MessageType::kHello), 1);
  EXPECT_EQ(static_cast<int>(MessageType::kGoodbye), 8);
  EXPECT_EQ(static_cast<int>(MessageType::kDelivered), 9);
  EXPECT_EQ(static_cast<int>(MessageType::kRegister), 32);
  EXPECT_EQ(static_cast<int>(MessageType::kRegistered), 33);
  EXPECT_EQ(static_cast<int>(MessageType::kHeartbeat), 34);
  EXPECT_EQ(static_cast<int>(MessageType::kHeartbeatAck), 35);
  EXPECT_EQ(static_cast<int>(MessageType::kTopologyVote), 36);
  EXPECT_EQ(static_cast<int>(MessageType::kTopology), 37);
  EXPECT_EQ(static_cast<int>(MessageType::kChannelsReady), 38);
  EXPECT_EQ(static_cast<int>(MessageType::kTopologyCommit), 39);
  EXPECT_EQ(static_cast<int>(MessageType::kPeerEvent), 40);
  EXPECT_EQ(static_cast<int>(MessageType::kGroupStatus), 41);
  EXPECT_EQ(static_cast<int>(MessageType::kLeave), 42);
  EXPECT_EQ(static_cast<int>(MessageType::kControlError), 43);
  EXPECT_EQ(static_cast<int>(MessageType::kPeerLookup), 44);
  EXPECT_EQ(static_cast<int>(MessageType::kPeerAddress), 45);
  EXPECT_EQ(static_cast<int>(MessageType::kOpReport), 46);
  EXPECT_EQ(static_cast<int>(MessageType::kOpVerdict), 47);
  EXPECT_EQ(static_cast<int>(MessageType::kStateVote), 48);
  EXPECT_EQ(static_cast<int>(MessageType::kStatePlan), 49);
  EXPECT_EQ(static_cast<int>(MessageType::kStateDone), 50);
  EXPECT_EQ(static_cast<int>(MessageType::kStateFetchRequest), 51);
  EXPECT_EQ(static_cast<int>(MessageType::kStateFetchPlan), 52);
  EXPECT_EQ(static_cast<int>(MessageType::kStateFetchDone), 53);
  EXPECT_EQ(static_cast<int>(MessageType::kStageMetric), 54);
  EXPECT_EQ(static_cast<int>(MessageType::kStageQuery), 55);
  EXPECT_EQ(static_cast<int>(MessageType::kStageInfo), 56);
  EXPECT_EQ(static_cast<int>(MessageType::kStageEvent), 57);
  EXPECT_EQ(static_cast<int>(MessageType::kStageAnnounce), 58);
  EXPECT_EQ(static_cast<int>(MessageType::kPeerReport), 59);
  EXPECT_EQ(static_cast<int>(MessageType::kAnomalyEvent), 60);
  for (int type = 0; type < 256; ++type) {
    const bool known = (type >= 1 && type <= 9) || (type >= 32 && type <= 60);
    EXPECT_EQ(isKnownMessageType(static_cast<uint8_t>(type)), known) << type;
  }
}

TEST(FrameHeader, RoundTripsEveryTypeAndAllowedFlag) {
  for (MessageType type : kAllTypes) {
    const uint16_t allowed = allowedFlags(type);
    // Every subset of the allowed flags.
    for (uint16_t flags = 0; flags <= allowed; ++flags) {
      if ((flags & ~allowed) != 0) continue;
      FrameHeader header;
      header.type = type;
      header.flags = flags;
      header.length = maxPayloadLength(type);
      header.checksum = (flags & kFlagChecksum) ? 0x1122334455667788ULL : 0;
      const HeaderBytes bytes = encode(header);
      auto decoded = decodeFrameHeader(bytes);
      ASSERT_TRUE(decoded.isOk()) << messageTypeName(type) << " flags " << flags << ": "
                                  << decoded.status().toString();
      EXPECT_EQ(decoded->type, type);
      EXPECT_EQ(decoded->flags, flags);
      EXPECT_EQ(decoded->length, header.length);
      EXPECT_EQ(decoded->checksum, header.checksum);
    }
  }
}

TEST(FrameHeader, OnlyChunksCarryEagerAndHedge) {
  EXPECT_EQ(allowedFlags(MessageType::kChunk), kFlagChecksum | kFlagEager | kFlagHedge);
  for (MessageType type : kAllTypes) {
    if (type != MessageType::kChunk) {
      EXPECT_EQ(allowedFlags(type), kFlagChecksum) << messageTypeName(type);
    }
  }
}

TEST(FrameHeader, LengthLimitsPerType) {
  EXPECT_EQ(maxPayloadLength(MessageType::kHello), Hello::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kHelloAck), HelloAck::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kChunk), ChunkHeader::kEncodedSize + kMaxChunkPayload);
  EXPECT_EQ(maxPayloadLength(MessageType::kCredit), 16u);
  EXPECT_EQ(maxPayloadLength(MessageType::kPoolCredit), 8u);
  EXPECT_EQ(maxPayloadLength(MessageType::kStreamError), StreamError::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kPing), 8u);
  EXPECT_EQ(maxPayloadLength(MessageType::kGoodbye), Goodbye::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kDelivered), Delivered::kMaxEncodedSize);
}

TEST(FrameHeader, ControlPlaneLengthLimits) {
  // Pinned as numbers: a limit that shrinks refuses frames that peers built to the old one.
  EXPECT_EQ(maxPayloadLength(MessageType::kRegister), 511u);
  EXPECT_EQ(maxPayloadLength(MessageType::kRegistered), 71u);
  EXPECT_EQ(maxPayloadLength(MessageType::kHeartbeat), 16u);
  EXPECT_EQ(maxPayloadLength(MessageType::kHeartbeatAck), 8u);
  EXPECT_EQ(maxPayloadLength(MessageType::kTopologyVote), 8u);
  EXPECT_EQ(maxPayloadLength(MessageType::kTopology), 1323024u);
  EXPECT_EQ(maxPayloadLength(MessageType::kChannelsReady), 8u);
  EXPECT_EQ(maxPayloadLength(MessageType::kTopologyCommit), 8u);
  EXPECT_EQ(maxPayloadLength(MessageType::kPeerEvent), 25u);
  EXPECT_EQ(maxPayloadLength(MessageType::kGroupStatus), 16u);
  EXPECT_EQ(maxPayloadLength(MessageType::kLeave), 1026u);
  EXPECT_EQ(maxPayloadLength(MessageType::kControlError), 1028u);
  EXPECT_EQ(maxPayloadLength(MessageType::kPeerLookup), 158u);
  EXPECT_EQ(maxPayloadLength(MessageType::kPeerAddress), 450u);
  EXPECT_EQ(maxPayloadLength(MessageType::kOpReport), 21u);
  EXPECT_EQ(maxPayloadLength(MessageType::kOpVerdict), 21u);
  EXPECT_EQ(maxPayloadLength(MessageType::kStateVote), 1183765u);
  EXPECT_EQ(maxPayloadLength(MessageType::kStatePlan), 3818529u);
  EXPECT_EQ(maxPayloadLength(MessageType::kStateDone), 279574u);
  EXPECT_EQ(maxPayloadLength(MessageType::kStateFetchRequest), 1183894u);
  EXPECT_EQ(maxPayloadLength(MessageType::kStateFetchPlan), 4944960u);
  EXPECT_EQ(maxPayloadLength(MessageType::kStateFetchDone), 24u);
  EXPECT_EQ(maxPayloadLength(MessageType::kStageMetric), 16u);
  EXPECT_EQ(maxPayloadLength(MessageType::kStageQuery), 12u);
  EXPECT_EQ(maxPayloadLength(MessageType::kStageInfo), 180u);
  EXPECT_EQ(maxPayloadLength(MessageType::kStageEvent), 143u);
  EXPECT_EQ(maxPayloadLength(MessageType::kStageAnnounce), 16u);
  EXPECT_EQ(maxPayloadLength(MessageType::kPeerReport), 3387u);
  EXPECT_EQ(maxPayloadLength(MessageType::kAnomalyEvent), 57u);
  // ... and they are the messages' own declared sizes.
  EXPECT_EQ(maxPayloadLength(MessageType::kRegister), Register::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kRegistered), Registered::kEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kHeartbeat), Heartbeat::kEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kHeartbeatAck), HeartbeatAck::kEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kTopologyVote), TopologyVote::kEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kTopology), Topology::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kChannelsReady), ChannelsReady::kEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kTopologyCommit), TopologyCommit::kEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kPeerEvent), PeerEvent::kEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kGroupStatus), GroupStatus::kEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kLeave), Leave::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kControlError), ControlError::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kPeerLookup), PeerLookup::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kPeerAddress), PeerAddress::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kOpReport), OpReport::kEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kOpVerdict), OpVerdict::kEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kStateVote), StateVote::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kStatePlan), StatePlan::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kStateDone), StateDone::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kStateFetchRequest), StateFetchRequest::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kStateFetchPlan), StateFetchPlan::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kStateFetchDone), StateFetchDone::kEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kStageMetric), StageMetric::kEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kStageQuery), StageQuery::kEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kStageInfo), StageInfo::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kStageEvent), StageEvent::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kStageAnnounce), StageAnnounce::kEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kPeerReport), PeerReport::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kAnomalyEvent), AnomalyEvent::kEncodedSize);
}

TEST(FrameHeader, EveryTruncation) {
  const HeaderBytes bytes = validCreditHeader();
  for (size_t length = 0; length < kFrameHeaderSize; ++length) {
    EXPECT_EQ(verdict(std::span(bytes).first(length)),
              "ProtocolError: frame header truncated: " + std::to_string(length) + " of 24 bytes");
  }
}

TEST(FrameHeader, BytesAfterTheHeaderAreNotItsConcern) {
  // The header decoder sees a stream; what follows is the payload.
  const HeaderBytes header = validCreditHeader();
  std::vector<uint8_t> bytes(header.begin(), header.end());
  bytes.resize(100, 0xee);
  EXPECT_EQ(verdict(bytes), "accepted");
}

TEST(FrameHeader, BadMagicInAnyByte) {
  for (size_t i = 0; i < kMagic.size(); ++i) {
    HeaderBytes bytes = validCreditHeader();
    bytes[i] ^= 0x20;  // "eCCL" and the like: close is not enough
    EXPECT_EQ(verdict(bytes), "ProtocolError: bad frame magic (not an ECCL peer?)") << "byte " << i;
  }
  const std::string http = "GET / HTTP/1.1\r\nHost: x\r\n";
  EXPECT_EQ(verdict(std::span(reinterpret_cast<const uint8_t*>(http.data()), http.size())),
            "ProtocolError: bad frame magic (not an ECCL peer?)");
}

TEST(FrameHeader, ATlsRecordSaysTheOtherSideSpeaksTls) {
  // A TLS 1.3 ClientHello record and a fatal alert, as a TLS peer's first bytes.
  for (uint8_t type : {0x16, 0x15}) {
    HeaderBytes bytes{};
    bytes[0] = type;
    bytes[1] = 0x03;
    bytes[2] = 0x01;
    const std::string text = verdict(bytes);
    EXPECT_EQ(text.rfind("ProtocolError: the other side speaks TLS and this side does not", 0), 0u)
        << text;
  }
}

TEST(FrameHeader, WrongVersionIsUnsupported) {
  for (uint8_t version : {0, 2, 255}) {
    HeaderBytes bytes = validCreditHeader();
    bytes[4] = version;
    auto decoded = decodeFrameHeader(bytes);
    ASSERT_FALSE(decoded.isOk());
    EXPECT_EQ(decoded.status().code(), Code::kUnsupported);
    EXPECT_EQ(decoded.status().message(), "protocol version " + std::to_string(version) +
                                              " is not supported (this build speaks version 1)");
  }
}

TEST(FrameHeader, UnknownMessageType) {
  for (uint8_t type : {0, 10, 31, 61, 255}) {
    HeaderBytes bytes = validCreditHeader();
    bytes[5] = type;
    EXPECT_EQ(verdict(bytes), "ProtocolError: unknown message type " + std::to_string(type));
  }
}

TEST(FrameHeader, FlagsNotAllowedForTheType) {
  struct Case {
    MessageType type;
    uint16_t flags;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {MessageType::kCredit, kFlagEager, "Credit frame carries unknown flags 0x0002"},
      {MessageType::kHello, kFlagHedge, "Hello frame carries unknown flags 0x0004"},
      {MessageType::kPing, kFlagChecksum | kFlagEager, "Ping frame carries unknown flags 0x0003"},
      {MessageType::kChunk, 1u << 3, "Chunk frame carries unknown flags 0x0008"},
      {MessageType::kChunk, 0x8000, "Chunk frame carries unknown flags 0x8000"},
      {MessageType::kGoodbye, 0xffff, "Goodbye frame carries unknown flags 0xffff"},
      {MessageType::kRegister, kFlagEager, "Register frame carries unknown flags 0x0002"},
      {MessageType::kTopology, kFlagChecksum | kFlagHedge,
       "Topology frame carries unknown flags 0x0005"},
      {MessageType::kControlError, 0x0100, "ControlError frame carries unknown flags 0x0100"},
  };
  for (const Case& c : cases) {
    FrameHeader header;
    header.type = c.type;
    header.flags = c.flags;
    header.checksum = (c.flags & kFlagChecksum) ? 1 : 0;
    EXPECT_EQ(verdict(encode(header)), "ProtocolError: " + c.expected);
  }
}

TEST(FrameHeader, NonzeroReservedBits) {
  for (size_t i = 12; i < 16; ++i) {
    HeaderBytes bytes = validCreditHeader();
    bytes[i] = 0x80;
    EXPECT_EQ(verdict(bytes), "ProtocolError: Credit frame has nonzero reserved bits")
        << "byte " << i;
  }
}

TEST(FrameHeader, ChecksumValueWithoutTheFlag) {
  for (size_t i = 16; i < 24; ++i) {
    HeaderBytes bytes = validCreditHeader();
    bytes[i] = 1;
    EXPECT_EQ(verdict(bytes),
              "ProtocolError: Credit frame has a checksum value but no checksum flag")
        << "byte " << i;
  }
}

TEST(FrameHeader, ChecksumFlagWithZeroValueIsAccepted) {
  // Zero is a possible XXH3 value: with the flag set, the payload check decides.
  FrameHeader header;
  header.type = MessageType::kCredit;
  header.flags = kFlagChecksum;
  header.length = 16;
  EXPECT_EQ(verdict(encode(header)), "accepted");
}

TEST(FrameHeader, DeclaredLengthAboveTheTypesLimit) {
  for (MessageType type : kAllTypes) {
    FrameHeader header;
    header.type = type;
    header.length = maxPayloadLength(type);
    EXPECT_EQ(verdict(encode(header)), "accepted") << messageTypeName(type);
    header.length += 1;
    EXPECT_EQ(verdict(encode(header)), "ProtocolError: " + std::string(messageTypeName(type)) +
                                           " frame declares " + std::to_string(header.length) +
                                           " payload bytes, limit " +
                                           std::to_string(header.length - 1));
  }
}

TEST(FrameHeader, HugeDeclaredLengthIsRefusedFromTheHeaderAlone) {
  // 24 bytes and no payload: the refusal must not wait for (or allocate) 1 GiB.
  FrameHeader header;
  header.type = MessageType::kCredit;
  header.length = 1u << 30;
  EXPECT_EQ(verdict(encode(header)),
            "ProtocolError: Credit frame declares 1073741824 payload bytes, limit 16");
  header.type = MessageType::kChunk;
  header.length = 0xffffffffu;
  EXPECT_EQ(verdict(encode(header)),
            "ProtocolError: Chunk frame declares 4294967295 payload bytes, limit 16777256");
  header.type = MessageType::kHeartbeat;
  header.length = 1u << 30;
  EXPECT_EQ(verdict(encode(header)),
            "ProtocolError: Heartbeat frame declares 1073741824 payload bytes, limit 16");
  header.type = MessageType::kTopology;
  header.length = 0xffffffffu;
  EXPECT_EQ(verdict(encode(header)),
            "ProtocolError: Topology frame declares 4294967295 payload bytes, limit 1323024");
}

TEST(FrameHeader, MessageTypeNames) {
  EXPECT_EQ(messageTypeName(MessageType::kHello), "Hello");
  EXPECT_EQ(messageTypeName(MessageType::kHelloAck), "HelloAck");
  EXPECT_EQ(messageTypeName(MessageType::kChunk), "Chunk");
  EXPECT_EQ(messageTypeName(MessageType::kCredit), "Credit");
  EXPECT_EQ(messageTypeName(MessageType::kPoolCredit), "PoolCredit");
  EXPECT_EQ(messageTypeName(MessageType::kStreamError), "StreamError");
  EXPECT_EQ(messageTypeName(MessageType::kPing), "Ping");
  EXPECT_EQ(messageTypeName(MessageType::kGoodbye), "Goodbye");
  EXPECT_EQ(messageTypeName(MessageType::kDelivered), "Delivered");
  EXPECT_EQ(messageTypeName(MessageType::kRegister), "Register");
  EXPECT_EQ(messageTypeName(MessageType::kRegistered), "Registered");
  EXPECT_EQ(messageTypeName(MessageType::kHeartbeat), "Heartbeat");
  EXPECT_EQ(messageTypeName(MessageType::kHeartbeatAck), "HeartbeatAck");
  EXPECT_EQ(messageTypeName(MessageType::kTopologyVote), "TopologyVote");
  EXPECT_EQ(messageTypeName(MessageType::kTopology), "Topology");
  EXPECT_EQ(messageTypeName(MessageType::kChannelsReady), "ChannelsReady");
  EXPECT_EQ(messageTypeName(MessageType::kTopologyCommit), "TopologyCommit");
  EXPECT_EQ(messageTypeName(MessageType::kPeerEvent), "PeerEvent");
  EXPECT_EQ(messageTypeName(MessageType::kGroupStatus), "GroupStatus");
  EXPECT_EQ(messageTypeName(MessageType::kLeave), "Leave");
  EXPECT_EQ(messageTypeName(MessageType::kControlError), "ControlError");
  EXPECT_EQ(messageTypeName(static_cast<MessageType>(10)), "Unknown");
  EXPECT_EQ(messageTypeName(MessageType::kPeerLookup), "PeerLookup");
  EXPECT_EQ(messageTypeName(MessageType::kPeerAddress), "PeerAddress");
  EXPECT_EQ(messageTypeName(MessageType::kOpReport), "OpReport");
  EXPECT_EQ(messageTypeName(MessageType::kOpVerdict), "OpVerdict");
  EXPECT_EQ(messageTypeName(MessageType::kStateVote), "StateVote");
  EXPECT_EQ(messageTypeName(MessageType::kStatePlan), "StatePlan");
  EXPECT_EQ(messageTypeName(MessageType::kStateDone), "StateDone");
  EXPECT_EQ(messageTypeName(MessageType::kStateFetchRequest), "StateFetchRequest");
  EXPECT_EQ(messageTypeName(MessageType::kStateFetchPlan), "StateFetchPlan");
  EXPECT_EQ(messageTypeName(MessageType::kStateFetchDone), "StateFetchDone");
  EXPECT_EQ(messageTypeName(MessageType::kStageMetric), "StageMetric");
  EXPECT_EQ(messageTypeName(MessageType::kStageQuery), "StageQuery");
  EXPECT_EQ(messageTypeName(MessageType::kStageInfo), "StageInfo");
  EXPECT_EQ(messageTypeName(MessageType::kStageEvent), "StageEvent");
  EXPECT_EQ(messageTypeName(MessageType::kStageAnnounce), "StageAnnounce");
  EXPECT_EQ(messageTypeName(MessageType::kPeerReport), "PeerReport");
  EXPECT_EQ(messageTypeName(MessageType::kAnomalyEvent), "AnomalyEvent");
  EXPECT_EQ(messageTypeName(static_cast<MessageType>(61)), "Unknown");
  EXPECT_EQ(messageTypeName(static_cast<MessageType>(0)), "Unknown");
}

}  // namespace
}  // namespace eccl::protocol::test
