#include "src/protocol/messages.h"

namespace eccl::protocol {
namespace {

void putId(ByteWriter& out, const EndpointId& id) {
  out.putBytes(id.bytes);
}
EndpointId getId(ByteReader& in, const char* field) {
  EndpointId id;
  id.bytes = in.getArray<16>(field);
  return id;
}

bool validCode(uint16_t raw) {
  return raw <= static_cast<uint16_t>(kLastCode);
}

}  // namespace

void Hello::encode(ByteWriter& out) const {
  out.put<uint8_t>(static_cast<uint8_t>(kind));
  putId(out, endpoint);
  putId(out, channel);
  out.put<uint16_t>(connection_index);
  out.put<uint16_t>(connection_count);
  out.put<uint32_t>(chunk_bytes);
  out.put<uint64_t>(pool_bytes);
  out.putBytes(auth_nonce);
  out.putBytes(auth_tag);
}

Hello Hello::decode(ByteReader& in) {
  Hello m;
  uint8_t kind = in.get<uint8_t>("kind");
  m.endpoint = getId(in, "endpoint");
  m.channel = getId(in, "channel");
  m.connection_index = in.get<uint16_t>("connection_index");
  m.connection_count = in.get<uint16_t>("connection_count");
  m.chunk_bytes = in.get<uint32_t>("chunk_bytes");
  m.pool_bytes = in.get<uint64_t>("pool_bytes");
  m.auth_nonce = in.getArray<kAuthFieldSize>("auth_nonce");
  m.auth_tag = in.getArray<kAuthFieldSize>("auth_tag");
  if (!in.ok()) return m;
  if (kind != static_cast<uint8_t>(ConnectionKind::kData)) {
    in.fail("unknown connection kind " + std::to_string(kind));
  } else if (m.connection_count == 0 || m.connection_count > kMaxConnections) {
    in.fail("connection_count " + std::to_string(m.connection_count) + " outside 1.." +
            std::to_string(kMaxConnections));
  } else if (m.connection_index >= m.connection_count) {
    in.fail("connection_index " + std::to_string(m.connection_index) + " >= connection_count " +
            std::to_string(m.connection_count));
  } else if (m.chunk_bytes == 0 || m.chunk_bytes > kMaxChunkPayload) {
    in.fail("chunk_bytes " + std::to_string(m.chunk_bytes) + " outside 1.." +
            std::to_string(kMaxChunkPayload));
  } else if (m.endpoint.isZero() || m.channel.isZero()) {
    in.fail("zero endpoint or channel id");
  }
  m.kind = ConnectionKind::kData;
  return m;
}

void HelloAck::encode(ByteWriter& out) const {
  putId(out, endpoint);
  out.put<uint8_t>(static_cast<uint8_t>(status));
  out.put<uint32_t>(chunk_bytes);
  out.put<uint64_t>(pool_bytes);
  out.putBytes(auth_nonce);
  out.putBytes(auth_tag);
  out.putString(std::string_view(reason).substr(0, kMaxReason));
}

HelloAck HelloAck::decode(ByteReader& in) {
  HelloAck m;
  m.endpoint = getId(in, "endpoint");
  uint8_t status = in.get<uint8_t>("status");
  m.chunk_bytes = in.get<uint32_t>("chunk_bytes");
  m.pool_bytes = in.get<uint64_t>("pool_bytes");
  m.auth_nonce = in.getArray<kAuthFieldSize>("auth_nonce");
  m.auth_tag = in.getArray<kAuthFieldSize>("auth_tag");
  m.reason = in.getString("reason", kMaxReason);
  if (!in.ok()) return m;
  if (status > static_cast<uint8_t>(HandshakeStatus::kOverloaded)) {
    in.fail("unknown handshake status " + std::to_string(status));
    return m;
  }
  m.status = static_cast<HandshakeStatus>(status);
  if (m.status == HandshakeStatus::kAccepted) {
    if (m.chunk_bytes == 0 || m.chunk_bytes > kMaxChunkPayload) {
      in.fail("chunk_bytes " + std::to_string(m.chunk_bytes) + " outside 1.." +
              std::to_string(kMaxChunkPayload));
    } else if (m.endpoint.isZero()) {
      in.fail("zero endpoint id");
    }
  }
  return m;
}

void ChunkHeader::encodeTo(std::span<uint8_t, kEncodedSize> out) const {
  uint8_t* p = out.data();
  storeLe<uint64_t>(p, stream);
  storeLe<uint64_t>(p + 8, message);
  storeLe<uint64_t>(p + 16, offset);
  storeLe<uint64_t>(p + 24, total);
  storeLe<uint32_t>(p + 32, seq);
  storeLe<uint32_t>(p + 36, 0);
}

ChunkHeader ChunkHeader::decode(ByteReader& in, uint64_t payload_bytes) {
  ChunkHeader m;
  m.stream = in.get<uint64_t>("stream");
  m.message = in.get<uint64_t>("message");
  m.offset = in.get<uint64_t>("offset");
  m.total = in.get<uint64_t>("total");
  m.seq = in.get<uint32_t>("seq");
  uint32_t reserved = in.get<uint32_t>("reserved");
  if (!in.ok()) return m;
  if (reserved != 0) {
    in.fail("nonzero reserved field");
  } else if (m.total > kMaxMessageBytes) {
    in.fail("message of " + std::to_string(m.total) + " bytes exceeds the limit");
  } else if (m.offset > m.total || payload_bytes > m.total - m.offset) {
    in.fail("slice [" + std::to_string(m.offset) + ", +" + std::to_string(payload_bytes) +
            ") lies outside a message of " + std::to_string(m.total) + " bytes");
  }
  return m;
}

Result<ChunkHeader> decodeChunkHeader(std::span<const uint8_t> header_bytes,
                                      uint64_t payload_bytes) {
  ByteReader reader(header_bytes);
  ChunkHeader header = ChunkHeader::decode(reader, payload_bytes);
  if (reader.ok() && reader.remaining() != 0) reader.fail("trailing bytes");
  if (!reader.ok()) return protocolError("Chunk: " + reader.error());
  return header;
}

void Credit::encode(ByteWriter& out) const {
  out.put<uint64_t>(stream);
  out.put<uint64_t>(bytes);
}

Credit Credit::decode(ByteReader& in) {
  Credit m;
  m.stream = in.get<uint64_t>("stream");
  m.bytes = in.get<uint64_t>("bytes");
  if (in.ok() && m.bytes > ChunkHeader::kMaxMessageBytes) in.fail("credit beyond message limit");
  return m;
}

void PoolCredit::encode(ByteWriter& out) const {
  out.put<uint64_t>(bytes);
}

PoolCredit PoolCredit::decode(ByteReader& in) {
  PoolCredit m;
  m.bytes = in.get<uint64_t>("bytes");
  return m;
}

void StreamError::encode(ByteWriter& out) const {
  out.put<uint64_t>(stream);
  out.put<uint64_t>(message);
  out.put<uint8_t>(static_cast<uint8_t>(origin));
  out.put<uint64_t>(dispatched);
  out.put<uint16_t>(static_cast<uint16_t>(code));
  out.putString(std::string_view(text).substr(0, kMaxText));
}

StreamError StreamError::decode(ByteReader& in) {
  StreamError m;
  m.stream = in.get<uint64_t>("stream");
  m.message = in.get<uint64_t>("message");
  uint8_t origin = in.get<uint8_t>("origin");
  m.dispatched = in.get<uint64_t>("dispatched");
  uint16_t code = in.get<uint16_t>("code");
  m.text = in.getString("text", kMaxText);
  if (!in.ok()) return m;
  if (origin != static_cast<uint8_t>(StreamErrorOrigin::kSender) &&
      origin != static_cast<uint8_t>(StreamErrorOrigin::kReceiver)) {
    in.fail("invalid origin " + std::to_string(origin));
  } else if (!validCode(code) || code == 0) {
    in.fail("invalid error code " + std::to_string(code));
  } else {
    m.origin = static_cast<StreamErrorOrigin>(origin);
    m.code = static_cast<Code>(code);
  }
  return m;
}

void Ping::encode(ByteWriter& out) const {
  out.put<uint64_t>(nonce);
}

Ping Ping::decode(ByteReader& in) {
  Ping m;
  m.nonce = in.get<uint64_t>("nonce");
  return m;
}

void Goodbye::encode(ByteWriter& out) const {
  out.put<uint16_t>(static_cast<uint16_t>(code));
  out.putString(std::string_view(text).substr(0, kMaxText));
}

Goodbye Goodbye::decode(ByteReader& in) {
  Goodbye m;
  uint16_t code = in.get<uint16_t>("code");
  m.text = in.getString("text", kMaxText);
  if (!in.ok()) return m;
  if (!validCode(code)) {
    in.fail("invalid code " + std::to_string(code));
  } else {
    m.code = static_cast<Code>(code);
  }
  return m;
}

void Delivered::encode(ByteWriter& out) const {
  out.put<uint16_t>(static_cast<uint16_t>(messages.size()));
  for (uint64_t number : messages)
    out.put<uint64_t>(number);
}

Delivered Delivered::decode(ByteReader& in) {
  Delivered m;
  uint16_t count = in.get<uint16_t>("count");
  if (!in.ok()) return m;
  if (count == 0 || count > kMaxMessages) {
    in.fail("count " + std::to_string(count) + " outside 1.." + std::to_string(kMaxMessages));
    return m;
  }
  m.messages.reserve(count);
  for (uint16_t i = 0; i < count && in.ok(); ++i)
    m.messages.push_back(in.get<uint64_t>("message"));
  return m;
}

Status verifyChecksum(const FrameHeader& header, std::span<const uint8_t> payload) {
  if (!header.has(kFlagChecksum)) return Status::ok();
  if (payloadChecksum(payload) == header.checksum) return Status::ok();
  return protocolError(std::string(messageTypeName(header.type)) +
                       " frame fails its payload checksum (corrupted in transit)");
}

std::string printable(std::string_view text, size_t max_length) {
  std::string out;
  out.reserve(std::min(text.size(), max_length));
  for (char c : text.substr(0, max_length)) {
    out.push_back((c >= 0x20 && c < 0x7f) ? c : '?');
  }
  if (text.size() > max_length) out += "...";
  return out;
}

}  // namespace eccl::protocol
