#include "src/protocol/control_messages.h"

#include <string>

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

bool validState(uint8_t raw) {
  return raw <= static_cast<uint8_t>(PeerState::kAccepted);
}

void checkCount(ByteReader& in, uint32_t count, size_t limit, const char* what) {
  if (in.ok() && count > limit) {
    in.fail(std::string(what) + " count " + std::to_string(count) + " exceeds " +
            std::to_string(limit));
  }
}

}  // namespace

void Register::encode(ByteWriter& out) const {
  putId(out, peer);
  out.putBytes(token);
  out.putString(group);
  out.putString(host);
  out.put<uint16_t>(data_port);
  out.put<uint8_t>(static_cast<uint8_t>(state));
  out.put<uint64_t>(revision);
  out.put<uint32_t>(rank);
  out.put<uint32_t>(world_size);
  out.put<uint8_t>(flags);
  out.put<uint32_t>(stage < 0 ? kNoStage : static_cast<uint32_t>(stage));
  out.put<uint32_t>(num_stages);
  if ((flags & kFlagEvictedBefore) != 0) {
    putId(out, evicted_as);
    out.putBytes(evicted_token);
  }
}

Register Register::decode(ByteReader& in) {
  Register m;
  m.peer = getId(in, "peer");
  m.token = in.getArray<32>("token");
  m.group = in.getString("group", kMaxGroupName);
  m.host = in.getString("host", kMaxHostName);
  m.data_port = in.get<uint16_t>("data_port");
  uint8_t state = in.get<uint8_t>("state");
  m.revision = in.get<uint64_t>("revision");
  m.rank = in.get<uint32_t>("rank");
  m.world_size = in.get<uint32_t>("world_size");
  m.flags = in.get<uint8_t>("flags");
  const uint32_t stage = in.get<uint32_t>("stage");
  m.num_stages = in.get<uint32_t>("num_stages");
  if ((m.flags & kFlagEvictedBefore) != 0) {
    m.evicted_as = getId(in, "evicted_as");
    m.evicted_token = in.getArray<32>("evicted_token");
  }
  if (!in.ok()) return m;
  if ((m.flags & ~(kFlagFetchState | kFlagEvictedBefore)) != 0) {
    in.fail("unknown registration flags " + std::to_string(m.flags));
  } else if (!validState(state)) {
    in.fail("unknown peer state " + std::to_string(state));
  } else if (m.host.empty() || m.data_port == 0) {
    in.fail("no data address");
  } else if (m.world_size > kMaxGroupMembers || (m.world_size > 0 && m.rank >= m.world_size)) {
    in.fail("rank " + std::to_string(m.rank) + " outside a group of " +
            std::to_string(m.world_size));
  } else if (stage == kNoStage && m.num_stages != 0) {
    in.fail("a pipeline of " + std::to_string(m.num_stages) + " stages without a stage");
  } else if (stage != kNoStage && (m.num_stages == 0 || m.num_stages > kMaxStages)) {
    in.fail("a pipeline of " + std::to_string(m.num_stages) + " stages (must be 1.." +
            std::to_string(kMaxStages) + ")");
  } else if (stage != kNoStage && stage >= m.num_stages) {
    in.fail("stage " + std::to_string(stage) + " outside a pipeline of " +
            std::to_string(m.num_stages) + " stages");
  } else {
    m.stage = stage == kNoStage ? -1 : static_cast<int32_t>(stage);
    m.state = static_cast<PeerState>(state);
    if (m.state != PeerState::kNew && m.peer.isZero()) in.fail("a rejoining peer needs its id");
    if ((m.flags & kFlagEvictedBefore) != 0 && m.evicted_as.isZero()) {
      in.fail("an evicted-before registration without the evicted id");
    }
  }
  return m;
}

void Registered::encode(ByteWriter& out) const {
  putId(out, peer);
  out.putBytes(token);
  out.put<uint64_t>(incarnation);
  out.put<uint32_t>(heartbeat_ms);
  out.put<uint16_t>(miss_limit);
  out.put<uint8_t>(static_cast<uint8_t>(state));
  out.put<uint64_t>(revision);
}

Registered Registered::decode(ByteReader& in) {
  Registered m;
  m.peer = getId(in, "peer");
  m.token = in.getArray<32>("token");
  m.incarnation = in.get<uint64_t>("incarnation");
  m.heartbeat_ms = in.get<uint32_t>("heartbeat_ms");
  m.miss_limit = in.get<uint16_t>("miss_limit");
  uint8_t state = in.get<uint8_t>("state");
  m.revision = in.get<uint64_t>("revision");
  if (!in.ok()) return m;
  if (!validState(state) || state == static_cast<uint8_t>(PeerState::kNew)) {
    in.fail("invalid peer state " + std::to_string(state));
  } else if (m.peer.isZero()) {
    in.fail("zero peer id");
  } else if (m.heartbeat_ms == 0 || m.miss_limit == 0) {
    in.fail("zero heartbeat interval or miss limit");
  } else {
    m.state = static_cast<PeerState>(state);
  }
  return m;
}

void Heartbeat::encode(ByteWriter& out) const {
  out.put<uint64_t>(seq);
  out.put<uint64_t>(ops_completed);
}

Heartbeat Heartbeat::decode(ByteReader& in) {
  Heartbeat m;
  m.seq = in.get<uint64_t>("seq");
  m.ops_completed = in.get<uint64_t>("ops_completed");
  return m;
}

void HeartbeatAck::encode(ByteWriter& out) const {
  out.put<uint64_t>(seq);
}

HeartbeatAck HeartbeatAck::decode(ByteReader& in) {
  HeartbeatAck m;
  m.seq = in.get<uint64_t>("seq");
  return m;
}

void TopologyVote::encode(ByteWriter& out) const {
  out.put<uint64_t>(revision);
}

TopologyVote TopologyVote::decode(ByteReader& in) {
  TopologyVote m;
  m.revision = in.get<uint64_t>("revision");
  return m;
}

void Topology::encode(ByteWriter& out) const {
  out.put<uint64_t>(revision);
  out.put<uint32_t>(static_cast<uint32_t>(members.size()));
  for (const Member& member : members) {
    putId(out, member.peer);
    out.putString(member.host);
    out.put<uint16_t>(member.port);
    out.putBytes(member.certificate);
  }
  out.put<uint32_t>(static_cast<uint32_t>(departed.size()));
  for (const EndpointId& id : departed)
    putId(out, id);
}

Topology Topology::decode(ByteReader& in) {
  Topology m;
  m.revision = in.get<uint64_t>("revision");
  const uint32_t count = in.get<uint32_t>("member count");
  checkCount(in, count, kMaxGroupMembers, "member");
  if (!in.ok()) return m;
  m.members.reserve(count);
  for (uint32_t i = 0; i < count && in.ok(); ++i) {
    Member member;
    member.peer = getId(in, "member peer");
    member.host = in.getString("member host", kMaxHostName);
    member.port = in.get<uint16_t>("member port");
    member.certificate = in.getArray<32>("member certificate");
    if (in.ok() && (member.peer.isZero() || member.host.empty() || member.port == 0)) {
      in.fail("member " + std::to_string(i) + " has no id or address");
    }
    m.members.push_back(std::move(member));
  }
  const uint32_t departed = in.get<uint32_t>("departed count");
  checkCount(in, departed, kMaxGroupMembers, "departed");
  if (!in.ok()) return m;
  m.departed.reserve(departed);
  for (uint32_t i = 0; i < departed && in.ok(); ++i)
    m.departed.push_back(getId(in, "departed"));
  if (in.ok() && m.members.empty()) in.fail("a topology without members");
  return m;
}

void ChannelsReady::encode(ByteWriter& out) const {
  out.put<uint64_t>(revision);
}

ChannelsReady ChannelsReady::decode(ByteReader& in) {
  ChannelsReady m;
  m.revision = in.get<uint64_t>("revision");
  return m;
}

void TopologyCommit::encode(ByteWriter& out) const {
  out.put<uint64_t>(revision);
}

TopologyCommit TopologyCommit::decode(ByteReader& in) {
  TopologyCommit m;
  m.revision = in.get<uint64_t>("revision");
  return m;
}

void PeerEvent::encode(ByteWriter& out) const {
  out.put<uint8_t>(static_cast<uint8_t>(kind));
  putId(out, peer);
  out.put<uint64_t>(revision);
}

PeerEvent PeerEvent::decode(ByteReader& in) {
  PeerEvent m;
  uint8_t kind = in.get<uint8_t>("kind");
  m.peer = getId(in, "peer");
  m.revision = in.get<uint64_t>("revision");
  if (!in.ok()) return m;
  if (kind < static_cast<uint8_t>(PeerEventKind::kJoined) ||
      kind > static_cast<uint8_t>(PeerEventKind::kEvicted)) {
    in.fail("unknown peer event kind " + std::to_string(kind));
  } else {
    m.kind = static_cast<PeerEventKind>(kind);
  }
  return m;
}

void GroupStatus::encode(ByteWriter& out) const {
  out.put<uint32_t>(pending);
  out.put<uint32_t>(accepted);
  out.put<uint64_t>(revision);
}

GroupStatus GroupStatus::decode(ByteReader& in) {
  GroupStatus m;
  m.pending = in.get<uint32_t>("pending");
  m.accepted = in.get<uint32_t>("accepted");
  m.revision = in.get<uint64_t>("revision");
  return m;
}

void Leave::encode(ByteWriter& out) const {
  out.putString(std::string_view(reason).substr(0, kMaxReason));
}

Leave Leave::decode(ByteReader& in) {
  Leave m;
  m.reason = in.getString("reason", kMaxReason);
  return m;
}

void ControlError::encode(ByteWriter& out) const {
  out.put<uint16_t>(static_cast<uint16_t>(code));
  out.putString(std::string_view(text).substr(0, kMaxReason));
}

ControlError ControlError::decode(ByteReader& in) {
  ControlError m;
  uint16_t code = in.get<uint16_t>("code");
  m.text = in.getString("text", kMaxReason);
  if (!in.ok()) return m;
  if (code == 0 || code > static_cast<uint16_t>(kLastCode)) {
    in.fail("invalid error code " + std::to_string(code));
  } else {
    m.code = static_cast<Code>(code);
  }
  return m;
}

void PeerLookup::encode(ByteWriter& out) const {
  out.put<uint64_t>(request);
  putId(out, peer);
  out.putString(group);
  out.put<uint32_t>(rank);
}

PeerLookup PeerLookup::decode(ByteReader& in) {
  PeerLookup m;
  m.request = in.get<uint64_t>("request");
  m.peer = getId(in, "peer");
  m.group = in.getString("group", kMaxGroupName);
  m.rank = in.get<uint32_t>("rank");
  if (!in.ok()) return m;
  if (m.peer.isZero() && m.group.empty()) {
    in.fail("a lookup names a peer id or a group");
  } else if (!m.peer.isZero() && (!m.group.empty() || m.rank != 0)) {
    in.fail("a lookup by id carries no group or rank");
  }
  return m;
}

void PeerAddress::encode(ByteWriter& out) const {
  out.put<uint64_t>(request);
  out.put<uint8_t>(static_cast<uint8_t>(result));
  putId(out, peer);
  out.putString(group);
  out.put<uint32_t>(rank);
  out.putString(host);
  out.put<uint16_t>(port);
  out.putBytes(certificate);
}

PeerAddress PeerAddress::decode(ByteReader& in) {
  PeerAddress m;
  m.request = in.get<uint64_t>("request");
  uint8_t result = in.get<uint8_t>("result");
  m.peer = getId(in, "peer");
  m.group = in.getString("group", kMaxGroupName);
  m.rank = in.get<uint32_t>("rank");
  m.host = in.getString("host", kMaxHostName);
  m.port = in.get<uint16_t>("port");
  m.certificate = in.getArray<32>("certificate");
  if (!in.ok()) return m;
  if (result > static_cast<uint8_t>(LookupResult::kNotAccepted)) {
    in.fail("unknown lookup result " + std::to_string(result));
    return m;
  }
  m.result = static_cast<LookupResult>(result);
  if (m.result == LookupResult::kFound &&
      (m.peer.isZero() || m.group.empty() || m.host.empty() || m.port == 0)) {
    in.fail("a found peer needs its id, group and data address");
  }
  return m;
}

namespace {

void putOpRef(ByteWriter& out, const OpRef& op) {
  out.put<uint64_t>(op.revision);
  out.put<uint64_t>(op.tag);
  out.put<uint32_t>(op.index);
}

OpRef getOpRef(ByteReader& in) {
  OpRef op;
  op.revision = in.get<uint64_t>("revision");
  op.tag = in.get<uint64_t>("tag");
  op.index = in.get<uint32_t>("index");
  return op;
}

// The enum value in [first, last], or a failed reader naming `what`.
template <typename Enum>
Enum getEnum(ByteReader& in, const char* what, Enum first, Enum last) {
  const uint8_t value = in.get<uint8_t>(what);
  if (!in.ok()) return first;
  if (value < static_cast<uint8_t>(first) || value > static_cast<uint8_t>(last)) {
    in.fail(std::string("unknown ") + what + " " + std::to_string(value));
    return first;
  }
  return static_cast<Enum>(value);
}

}  // namespace

void OpReport::encode(ByteWriter& out) const {
  putOpRef(out, op);
  out.put<uint8_t>(static_cast<uint8_t>(progress));
}

OpReport OpReport::decode(ByteReader& in) {
  OpReport m;
  m.op = getOpRef(in);
  m.progress = getEnum(in, "op progress", OpProgress::kIncomplete, OpProgress::kSucceeded);
  return m;
}

void OpVerdict::encode(ByteWriter& out) const {
  putOpRef(out, op);
  out.put<uint8_t>(static_cast<uint8_t>(decision));
}

OpVerdict OpVerdict::decode(ByteReader& in) {
  OpVerdict m;
  m.op = getOpRef(in);
  m.decision = getEnum(in, "op decision", OpDecision::kQuery, OpDecision::kFailed);
  return m;
}

}  // namespace eccl::protocol
