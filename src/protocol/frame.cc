#include "src/protocol/frame.h"

#include <string>

#include "src/protocol/control_messages.h"
#include "src/protocol/messages.h"
#include "src/protocol/report_messages.h"
#include "src/protocol/stage_messages.h"
#include "src/protocol/state_messages.h"
#include "src/protocol/wire.h"

namespace eccl::protocol {

std::string_view messageTypeName(MessageType type) {
  switch (type) {
    case MessageType::kHello:
      return "Hello";
    case MessageType::kHelloAck:
      return "HelloAck";
    case MessageType::kChunk:
      return "Chunk";
    case MessageType::kCredit:
      return "Credit";
    case MessageType::kPoolCredit:
      return "PoolCredit";
    case MessageType::kStreamError:
      return "StreamError";
    case MessageType::kPing:
      return "Ping";
    case MessageType::kGoodbye:
      return "Goodbye";
    case MessageType::kDelivered:
      return "Delivered";
    case MessageType::kRegister:
      return "Register";
    case MessageType::kRegistered:
      return "Registered";
    case MessageType::kHeartbeat:
      return "Heartbeat";
    case MessageType::kHeartbeatAck:
      return "HeartbeatAck";
    case MessageType::kTopologyVote:
      return "TopologyVote";
    case MessageType::kTopology:
      return "Topology";
    case MessageType::kChannelsReady:
      return "ChannelsReady";
    case MessageType::kTopologyCommit:
      return "TopologyCommit";
    case MessageType::kPeerEvent:
      return "PeerEvent";
    case MessageType::kGroupStatus:
      return "GroupStatus";
    case MessageType::kLeave:
      return "Leave";
    case MessageType::kControlError:
      return "ControlError";
    case MessageType::kPeerLookup:
      return "PeerLookup";
    case MessageType::kPeerAddress:
      return "PeerAddress";
    case MessageType::kOpReport:
      return "OpReport";
    case MessageType::kOpVerdict:
      return "OpVerdict";
    case MessageType::kStateVote:
      return "StateVote";
    case MessageType::kStatePlan:
      return "StatePlan";
    case MessageType::kStateDone:
      return "StateDone";
    case MessageType::kStateFetchRequest:
      return "StateFetchRequest";
    case MessageType::kStateFetchPlan:
      return "StateFetchPlan";
    case MessageType::kStateFetchDone:
      return "StateFetchDone";
    case MessageType::kStageMetric:
      return "StageMetric";
    case MessageType::kStageQuery:
      return "StageQuery";
    case MessageType::kStageInfo:
      return "StageInfo";
    case MessageType::kStageEvent:
      return "StageEvent";
    case MessageType::kStageAnnounce:
      return "StageAnnounce";
    case MessageType::kPeerReport:
      return "PeerReport";
    case MessageType::kAnomalyEvent:
      return "AnomalyEvent";
  }
  return "Unknown";
}

bool isKnownMessageType(uint8_t type) {
  return (type >= static_cast<uint8_t>(MessageType::kHello) &&
          type <= static_cast<uint8_t>(MessageType::kDelivered)) ||
         (type >= static_cast<uint8_t>(MessageType::kRegister) &&
          type <= static_cast<uint8_t>(MessageType::kAnomalyEvent));
}

uint16_t allowedFlags(MessageType type) {
  switch (type) {
    case MessageType::kChunk:
      return kFlagChecksum | kFlagEager | kFlagHedge;
    default:
      return kFlagChecksum;
  }
}

uint32_t maxPayloadLength(MessageType type) {
  switch (type) {
    case MessageType::kHello:
      return Hello::kMaxEncodedSize;
    case MessageType::kHelloAck:
      return HelloAck::kMaxEncodedSize;
    case MessageType::kChunk:
      return ChunkHeader::kEncodedSize + kMaxChunkPayload;
    case MessageType::kCredit:
      return Credit::kEncodedSize;
    case MessageType::kPoolCredit:
      return PoolCredit::kEncodedSize;
    case MessageType::kStreamError:
      return StreamError::kMaxEncodedSize;
    case MessageType::kPing:
      return Ping::kEncodedSize;
    case MessageType::kGoodbye:
      return Goodbye::kMaxEncodedSize;
    case MessageType::kDelivered:
      return Delivered::kMaxEncodedSize;
    case MessageType::kRegister:
      return Register::kMaxEncodedSize;
    case MessageType::kRegistered:
      return Registered::kEncodedSize;
    case MessageType::kHeartbeat:
      return Heartbeat::kEncodedSize;
    case MessageType::kHeartbeatAck:
      return HeartbeatAck::kEncodedSize;
    case MessageType::kTopologyVote:
      return TopologyVote::kEncodedSize;
    case MessageType::kTopology:
      return Topology::kMaxEncodedSize;
    case MessageType::kChannelsReady:
      return ChannelsReady::kEncodedSize;
    case MessageType::kTopologyCommit:
      return TopologyCommit::kEncodedSize;
    case MessageType::kPeerEvent:
      return PeerEvent::kEncodedSize;
    case MessageType::kGroupStatus:
      return GroupStatus::kEncodedSize;
    case MessageType::kLeave:
      return Leave::kMaxEncodedSize;
    case MessageType::kControlError:
      return ControlError::kMaxEncodedSize;
    case MessageType::kPeerLookup:
      return PeerLookup::kMaxEncodedSize;
    case MessageType::kPeerAddress:
      return PeerAddress::kMaxEncodedSize;
    case MessageType::kOpReport:
      return OpReport::kEncodedSize;
    case MessageType::kOpVerdict:
      return OpVerdict::kEncodedSize;
    case MessageType::kStateVote:
      return StateVote::kMaxEncodedSize;
    case MessageType::kStatePlan:
      return StatePlan::kMaxEncodedSize;
    case MessageType::kStateDone:
      return StateDone::kMaxEncodedSize;
    case MessageType::kStateFetchRequest:
      return StateFetchRequest::kMaxEncodedSize;
    case MessageType::kStateFetchPlan:
      return StateFetchPlan::kMaxEncodedSize;
    case MessageType::kStateFetchDone:
      return StateFetchDone::kEncodedSize;
    case MessageType::kStageMetric:
      return StageMetric::kEncodedSize;
    case MessageType::kStageQuery:
      return StageQuery::kEncodedSize;
    case MessageType::kStageInfo:
      return StageInfo::kMaxEncodedSize;
    case MessageType::kStageEvent:
      return StageEvent::kMaxEncodedSize;
    case MessageType::kStageAnnounce:
      return StageAnnounce::kEncodedSize;
    case MessageType::kPeerReport:
      return PeerReport::kMaxEncodedSize;
    case MessageType::kAnomalyEvent:
      return AnomalyEvent::kEncodedSize;
  }
  return 0;
}

void encodeFrameHeader(const FrameHeader& header, std::span<uint8_t, kFrameHeaderSize> out) {
  uint8_t* p = out.data();
  std::copy(kMagic.begin(), kMagic.end(), p);
  p[4] = kProtocolVersion;
  p[5] = static_cast<uint8_t>(header.type);
  storeLe<uint16_t>(p + 6, header.flags);
  storeLe<uint32_t>(p + 8, header.length);
  storeLe<uint32_t>(p + 12, 0);
  storeLe<uint64_t>(p + 16, header.checksum);
}

Result<FrameHeader> decodeFrameHeader(std::span<const uint8_t> in) {
  if (in.size() < kFrameHeaderSize) {
    return protocolError("frame header truncated: " + std::to_string(in.size()) + " of " +
                         std::to_string(kFrameHeaderSize) + " bytes");
  }
  const uint8_t* p = in.data();
  if (!std::equal(kMagic.begin(), kMagic.end(), p)) {
    // A TLS record (handshake or alert, version 3.x): the other end was set up for TLS.
    if ((p[0] == 0x16 || p[0] == 0x15) && p[1] == 0x03) {
      return protocolError(
          "the other side speaks TLS and this side does not (are ECCL_TLS_CA/CERT/KEY and "
          "ECCL_TLS_DATA the same on both?)");
    }
    return protocolError("bad frame magic (not an ECCL peer?)");
  }
  if (p[4] != kProtocolVersion) {
    return Status(Code::kUnsupported, "protocol version " + std::to_string(p[4]) +
                                          " is not supported (this build speaks version " +
                                          std::to_string(kProtocolVersion) + ")");
  }
  if (!isKnownMessageType(p[5])) {
    return protocolError("unknown message type " + std::to_string(p[5]));
  }
  FrameHeader header;
  header.type = static_cast<MessageType>(p[5]);
  header.flags = loadLe<uint16_t>(p + 6);
  header.length = loadLe<uint32_t>(p + 8);
  header.checksum = loadLe<uint64_t>(p + 16);
  const std::string name(messageTypeName(header.type));
  if ((header.flags & ~allowedFlags(header.type)) != 0) {
    return protocolError(name + " frame carries unknown flags 0x" + [&] {
      static constexpr char kDigits[] = "0123456789abcdef";
      std::string hex;
      for (int shift = 12; shift >= 0; shift -= 4)
        hex.push_back(kDigits[(header.flags >> shift) & 0xf]);
      return hex;
    }());
  }
  if (loadLe<uint32_t>(p + 12) != 0)
    return protocolError(name + " frame has nonzero reserved bits");
  if (!header.has(kFlagChecksum) && header.checksum != 0) {
    return protocolError(name + " frame has a checksum value but no checksum flag");
  }
  if (header.length > maxPayloadLength(header.type)) {
    return protocolError(name + " frame declares " + std::to_string(header.length) +
                         " payload bytes, limit " + std::to_string(maxPayloadLength(header.type)));
  }
  return header;
}

}  // namespace eccl::protocol
