// Typed wire messages. Each type encodes into a frame payload and decodes from
// one with every field, length and enum checked; trailing bytes are an error.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "src/common/endpoint_id.h"
#include "src/common/status.h"
#include "src/protocol/frame.h"
#include "src/protocol/wire.h"

namespace eccl::protocol {

inline constexpr size_t kAuthFieldSize = 32;
using AuthField = std::array<uint8_t, kAuthFieldSize>;

// What a connection is for. Version 1 carries striped data channels; the
// membership control plane (later work) will use its own kind.
enum class ConnectionKind : uint8_t { kData = 1 };

// First frame on every connection, connector -> listener. The K connections of
// one channel share channel_id and are numbered 0..connection_count-1.
struct Hello {
  static constexpr MessageType kType = MessageType::kHello;
  static constexpr uint16_t kMaxConnections = 256;
  static constexpr size_t kMaxEncodedSize = 1 + 16 + 16 + 2 + 2 + 4 + 8 + 2 * kAuthFieldSize;

  ConnectionKind kind = ConnectionKind::kData;
  EndpointId endpoint;  // the connecting endpoint
  EndpointId channel;   // random per channel
  uint16_t connection_index = 0;
  uint16_t connection_count = 1;
  uint32_t chunk_bytes = 0;  // the chunk size this side sends with
  uint64_t pool_bytes = 0;   // this side's unexpected-chunk pool: the eager credit it grants
  // Reserved for the authentication step (challenge nonce and MAC); zero until it is enabled.
  AuthField auth_nonce{};
  AuthField auth_tag{};

  void encode(ByteWriter& out) const;
  static Hello decode(ByteReader& in);
};

enum class HandshakeStatus : uint8_t {
  kAccepted = 0,
  kRejected = 1,     // malformed or inconsistent request
  kUnsupported = 2,  // version or connection kind this endpoint does not serve
  kOverloaded = 3,   // too many pending handshakes
};

struct HelloAck {
  static constexpr MessageType kType = MessageType::kHelloAck;
  static constexpr size_t kMaxReason = 256;
  static constexpr size_t kMaxEncodedSize = 16 + 1 + 4 + 8 + 2 * kAuthFieldSize + 2 + kMaxReason;

  EndpointId endpoint;  // the listening endpoint
  HandshakeStatus status = HandshakeStatus::kAccepted;
  uint32_t chunk_bytes = 0;
  uint64_t pool_bytes = 0;
  AuthField auth_nonce{};
  AuthField auth_tag{};
  std::string reason;

  void encode(ByteWriter& out) const;
  static HelloAck decode(ByteReader& in);
};

// The first bytes of a Chunk payload; the slice's bytes follow.
struct ChunkHeader {
  static constexpr MessageType kType = MessageType::kChunk;
  static constexpr size_t kEncodedSize = 40;
  // Larger messages are refused (far beyond any tensor ECCL moves).
  static constexpr uint64_t kMaxMessageBytes = uint64_t{1} << 48;

  uint64_t stream = 0;   // the caller's stream id: what the receiver posted
  uint64_t message = 0;  // sender-assigned, increasing per channel direction
  uint64_t offset = 0;   // where the slice goes in the message
  uint64_t total = 0;    // the whole message's size
  uint32_t seq = 0;      // chunk index: offset / chunk size

  void encodeTo(std::span<uint8_t, kEncodedSize> out) const;
  // payload_bytes: the slice length (frame length minus this header); checked against total.
  static ChunkHeader decode(ByteReader& in, uint64_t payload_bytes);
};

struct Credit {
  static constexpr MessageType kType = MessageType::kCredit;
  static constexpr size_t kEncodedSize = 16;
  uint64_t stream = 0;
  uint64_t bytes = 0;  // the size of the posted buffer
  void encode(ByteWriter& out) const;
  static Credit decode(ByteReader& in);
};

struct PoolCredit {
  static constexpr MessageType kType = MessageType::kPoolCredit;
  static constexpr size_t kEncodedSize = 8;
  uint64_t bytes = 0;
  void encode(ByteWriter& out) const;
  static PoolCredit decode(ByteReader& in);
};

// One message failed (e.g. the receiver's buffer has another size); the
// channel and its other streams carry on. The receiver reports first (origin
// kReceiver); the sender's report (origin kSender) says how many chunks it had
// handed out, so the receiver knows when the last stray one has arrived.
enum class StreamErrorOrigin : uint8_t { kSender = 1, kReceiver = 2 };

struct StreamError {
  static constexpr MessageType kType = MessageType::kStreamError;
  static constexpr size_t kMaxText = 1024;
  static constexpr size_t kMaxEncodedSize = 8 + 8 + 1 + 8 + 2 + 2 + kMaxText;
  uint64_t stream = 0;
  uint64_t message = 0;  // the sender's message number
  StreamErrorOrigin origin = StreamErrorOrigin::kReceiver;
  uint64_t dispatched = 0;  // kSender: chunks of the message that were sent (their originals)
  Code code = Code::kInvalidUsage;
  std::string text;
  void encode(ByteWriter& out) const;
  static StreamError decode(ByteReader& in);
};

struct Ping {
  static constexpr MessageType kType = MessageType::kPing;
  static constexpr size_t kEncodedSize = 8;
  uint64_t nonce = 0;
  void encode(ByteWriter& out) const;
  static Ping decode(ByteReader& in);
};

struct Goodbye {
  static constexpr MessageType kType = MessageType::kGoodbye;
  static constexpr size_t kMaxText = 1024;
  static constexpr size_t kMaxEncodedSize = 2 + 2 + kMaxText;
  Code code = Code::kOk;
  std::string text;
  void encode(ByteWriter& out) const;
  static Goodbye decode(ByteReader& in);
};

// The receiver placed these messages in full: their sends complete. Sends
// complete on delivery, not when written, so that a sender learns of a
// receiver-side failure (e.g. a buffer of the wrong size) for every message.
struct Delivered {
  static constexpr MessageType kType = MessageType::kDelivered;
  static constexpr size_t kMaxMessages = 512;
  static constexpr size_t kMaxEncodedSize = 2 + 8 * kMaxMessages;
  std::vector<uint64_t> messages;  // 1..kMaxMessages sender message numbers
  void encode(ByteWriter& out) const;
  static Delivered decode(ByteReader& in);
};

// XXH3-64 of a payload, as carried in the frame header.
uint64_t payloadChecksum(std::span<const uint8_t> payload);

// Appends a whole frame (header + payload) for a control message to `out`.
template <typename Message>
void appendFrame(const Message& message, std::vector<uint8_t>& out, bool with_checksum = false) {
  const size_t start = out.size();
  out.resize(start + kFrameHeaderSize);
  ByteWriter writer(out);
  message.encode(writer);
  const std::span<uint8_t> frame = std::span(out).subspan(start);
  FrameHeader header;
  header.type = Message::kType;
  header.length = static_cast<uint32_t>(frame.size() - kFrameHeaderSize);
  if (with_checksum) {
    header.flags |= kFlagChecksum;
    header.checksum = payloadChecksum(frame.subspan(kFrameHeaderSize));
  }
  encodeFrameHeader(header, std::span<uint8_t, kFrameHeaderSize>(frame.data(), kFrameHeaderSize));
}

// A whole frame (header + payload) for a control message.
template <typename Message>
std::vector<uint8_t> encodeFrame(const Message& message, bool with_checksum = false) {
  std::vector<uint8_t> frame;
  appendFrame(message, frame, with_checksum);
  return frame;
}

// Decodes a control message's payload; every byte must be accounted for.
template <typename Message>
Result<Message> decodeMessage(std::span<const uint8_t> payload) {
  ByteReader reader(payload);
  Message message = Message::decode(reader);
  if (reader.ok() && reader.remaining() != 0) {
    reader.fail(std::to_string(reader.remaining()) + " trailing bytes");
  }
  if (!reader.ok()) {
    return protocolError(std::string(messageTypeName(Message::kType)) + ": " + reader.error());
  }
  return message;
}

Result<ChunkHeader> decodeChunkHeader(std::span<const uint8_t> header_bytes,
                                      uint64_t payload_bytes);

// Checks a received frame's checksum (when flagged) against its payload.
Status verifyChecksum(const FrameHeader& header, std::span<const uint8_t> payload);

// Makes peer-supplied text safe to print: control bytes become '?', length capped.
std::string printable(std::string_view text, size_t max_length = 200);

}  // namespace eccl::protocol
