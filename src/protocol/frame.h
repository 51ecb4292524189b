// The frame: the unit of every ECCL connection.
//
//   offset size  field
//        0    4  magic "ECCL"
//        4    1  protocol version (kProtocolVersion)
//        5    1  message type (MessageType)
//        6    2  flags (FrameFlag bits; each type allows a subset)
//        8    4  payload length in bytes (at most maxPayloadLength(type))
//       12    4  reserved, zero
//       16    8  payload checksum, XXH3-64, when kFlagChecksum is set; else zero
//       24       payload
//
// All integers are little-endian. The checksum field and the handshake's
// authentication fields (see messages.h) exist from version 1 on, so turning
// them on later changes no layout.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "src/common/status.h"

namespace eccl::protocol {

inline constexpr std::array<uint8_t, 4> kMagic = {'E', 'C', 'C', 'L'};
inline constexpr uint8_t kProtocolVersion = 1;
inline constexpr size_t kFrameHeaderSize = 24;

// The largest chunk payload a peer may send (the chunk size is negotiated below it).
inline constexpr uint32_t kMaxChunkPayload = 16u << 20;

enum class MessageType : uint8_t {
  kHello = 1,        // connector -> listener, first frame of every connection
  kHelloAck = 2,     // listener -> connector, once the whole channel is assembled
  kChunk = 3,        // ChunkHeader + a slice of a stream's message
  kCredit = 4,       // receiver posted a buffer for a stream: send it all
  kPoolCredit = 5,   // receiver freed bytes of its unexpected-chunk pool
  kStreamError = 6,  // one stream failed (e.g. size mismatch); the channel lives on
  kPing = 7,         // liveness on an otherwise idle connection
  kGoodbye = 8,      // graceful close, with the reason
  kDelivered = 9,    // receiver has whole messages in their posted buffers

  // The membership control plane, peer <-> master (control_messages.h).
  kRegister = 32,           // peer -> master, first frame: join or rejoin
  kRegistered = 33,         // master -> peer: id, token, heartbeat settings
  kHeartbeat = 34,          // peer -> master, every heartbeat_ms
  kHeartbeatAck = 35,       // master -> peer
  kTopologyVote = 36,       // peer -> master: ecclCommUpdateTopology
  kTopology = 37,           // master -> members: the next revision's ring
  kChannelsReady = 38,      // peer -> master: data channels to its neighbours are up
  kTopologyCommit = 39,     // master -> members: the revision is in force
  kPeerEvent = 40,          // master -> peers: joined, left, lost, evicted
  kGroupStatus = 41,        // master -> peers: pending and accepted counts
  kLeave = 42,              // peer -> master: graceful leave
  kControlError = 43,       // master -> peer: a refused request, with the reason
  kPeerLookup = 44,         // peer -> master: where is this accepted peer (point-to-point)
  kPeerAddress = 45,        // master -> peer: the answer to a PeerLookup
  kOpReport = 46,           // peer -> master: how far it got with a collective op
  kOpVerdict = 47,          // master -> peers: a question about an op, or its agreed outcome
  kStateVote = 48,          // peer -> master: its shared-state hashes (state_messages.h)
  kStatePlan = 49,          // master -> members: a transfer round, or the sync's outcome
  kStateDone = 50,          // peer -> master: a transfer round ran, and what failed
  kStateFetchRequest = 51,  // pending peer -> master: fetch the state before admission
  kStateFetchPlan = 52,     // master -> fetcher and its sources: the snapshot's transfers
  kStateFetchDone = 53,     // fetcher -> master: the fetch ended; admit it
  kStageMetric = 54,        // peer -> master: its stage's metric for a round (stage_messages.h)
  kStageQuery = 55,         // peer -> master: what is known about a pipeline stage
  kStageInfo = 56,          // master -> peer: the answer to a StageQuery
  kStageEvent = 57,         // master -> stage peers: a stage was lost or restored
  kStageAnnounce = 58,      // peer -> master: its recovering stage holds its weights again
  kPeerReport = 59,         // peer -> master: its collectives and links (report_messages.h)
  kAnomalyEvent = 60,       // master -> group: a hung peer or a straggler was found
};

// True for the types above: the wire may carry any other byte value.
bool isKnownMessageType(uint8_t type);

std::string_view messageTypeName(MessageType type);

enum FrameFlag : uint16_t {
  kFlagChecksum = 1u << 0,  // the checksum field covers the payload
  kFlagEager = 1u << 1,     // chunk sent on pool credit, before the receiver posted
  kFlagHedge = 1u << 2,     // a second copy of a late chunk, sent on another connection
};

// Flags a frame of this type may carry; any other bit is a protocol error.
uint16_t allowedFlags(MessageType type);
// The largest payload a frame of this type may declare.
uint32_t maxPayloadLength(MessageType type);

struct FrameHeader {
  MessageType type = MessageType::kPing;
  uint16_t flags = 0;
  uint32_t length = 0;
  uint64_t checksum = 0;

  bool has(FrameFlag flag) const { return (flags & flag) != 0; }
};

void encodeFrameHeader(const FrameHeader& header, std::span<uint8_t, kFrameHeaderSize> out);

// Checks magic, version, type, flags, reserved bits and the declared length
// before anything is allocated for the payload.
Result<FrameHeader> decodeFrameHeader(std::span<const uint8_t> in);

}  // namespace eccl::protocol
