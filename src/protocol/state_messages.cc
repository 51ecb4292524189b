#include "src/protocol/state_messages.h"

#include <string>

#include "src/protocol/messages.h"

namespace eccl::protocol {
namespace {

constexpr uint8_t kNumDTypes = 12;  // reduce::kNumDTypes (protocol does not depend on reduce)
constexpr uint8_t kMaxStrategy = 2;

void putId(ByteWriter& out, const EndpointId& id) {
  out.putBytes(id.bytes);
}

EndpointId getId(ByteReader& in, const char* field) {
  EndpointId id;
  id.bytes = in.getArray<16>(field);
  return id;
}

// A u32 element count, checked against its limit before anything is allocated.
uint32_t getCount(ByteReader& in, size_t limit, const char* what) {
  const uint32_t count = in.get<uint32_t>(what);
  if (in.ok() && count > limit) {
    in.fail(std::string(what) + " " + std::to_string(count) + " exceeds " + std::to_string(limit));
    return 0;
  }
  return count;
}

void putEntries(ByteWriter& out, const std::vector<StateEntrySummary>& entries) {
  out.put<uint32_t>(static_cast<uint32_t>(entries.size()));
  for (const StateEntrySummary& entry : entries) {
    out.putString(entry.name);
    out.put<uint64_t>(entry.count);
    out.put<uint8_t>(entry.dtype);
    out.put<uint8_t>(entry.flags);
    out.putBytes(entry.hash);
    out.put<uint16_t>(entry.zstd_permille);
    out.put<uint32_t>(entry.zstd_mbps);
  }
}

std::vector<StateEntrySummary> getEntries(ByteReader& in) {
  std::vector<StateEntrySummary> entries;
  const uint32_t count = getCount(in, kMaxStateEntries, "entry count");
  for (uint32_t i = 0; i < count && in.ok(); ++i) {
    StateEntrySummary entry;
    entry.name = in.getString("entry name", kMaxStateEntryName);
    entry.count = in.get<uint64_t>("entry element count");
    entry.dtype = in.get<uint8_t>("entry dtype");
    entry.flags = in.get<uint8_t>("entry flags");
    entry.hash = in.getArray<16>("entry hash");
    entry.zstd_permille = in.get<uint16_t>("entry zstd ratio");
    entry.zstd_mbps = in.get<uint32_t>("entry zstd speed");
    if (!in.ok()) break;
    if (entry.zstd_permille > 1000) in.fail("entry zstd ratio above 1000 per mille");
    if (entry.name.empty()) in.fail("empty entry name");
    if (entry.dtype >= kNumDTypes) in.fail("unknown dtype " + std::to_string(entry.dtype));
    if ((entry.flags & ~kStateFlagAllowInequality) != 0) {
      in.fail("unknown entry flags " + std::to_string(entry.flags));
    }
    // Names in strictly increasing order: unique, and one order on every peer.
    if (!entries.empty() && !(entries.back().name < entry.name)) {
      in.fail("entry names not in strictly increasing order at '" + printable(entry.name) + "'");
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

void putExpectations(ByteWriter& out, const std::vector<StateExpectation>& receive) {
  out.put<uint32_t>(static_cast<uint32_t>(receive.size()));
  for (const StateExpectation& e : receive) {
    out.put<uint32_t>(e.entry);
    out.putBytes(e.hash);
  }
}

std::vector<StateExpectation> getExpectations(ByteReader& in) {
  std::vector<StateExpectation> receive;
  const uint32_t count = getCount(in, kMaxStateEntries, "receive count");
  for (uint32_t i = 0; i < count && in.ok(); ++i) {
    StateExpectation e;
    e.entry = in.get<uint32_t>("receive entry");
    e.hash = in.getArray<16>("receive hash");
    if (in.ok() && e.entry >= kMaxStateEntries) in.fail("receive entry out of range");
    receive.push_back(e);
  }
  return receive;
}

void putTransfers(ByteWriter& out, const std::vector<StateTransfer>& transfers) {
  out.put<uint32_t>(static_cast<uint32_t>(transfers.size()));
  for (const StateTransfer& t : transfers) {
    out.put<uint32_t>(t.id);
    out.put<uint32_t>(t.entry);
    out.put<uint64_t>(t.offset);
    out.put<uint64_t>(t.bytes);
    putId(out, t.from);
    putId(out, t.to);
    out.put<uint8_t>(t.codec);
  }
}

std::vector<StateTransfer> getTransfers(ByteReader& in) {
  std::vector<StateTransfer> transfers;
  const uint32_t count = getCount(in, kMaxPlanTransfers, "transfer count");
  for (uint32_t i = 0; i < count && in.ok(); ++i) {
    StateTransfer t;
    t.id = in.get<uint32_t>("transfer id");
    t.entry = in.get<uint32_t>("transfer entry");
    t.offset = in.get<uint64_t>("transfer offset");
    t.bytes = in.get<uint64_t>("transfer bytes");
    t.from = getId(in, "transfer source");
    t.to = getId(in, "transfer destination");
    t.codec = in.get<uint8_t>("transfer codec");
    if (!in.ok()) break;
    if (t.codec > 1) in.fail("unknown transfer codec " + std::to_string(t.codec));
    if (t.entry >= kMaxStateEntries) in.fail("transfer entry out of range");
    if (t.bytes == 0 || t.offset + t.bytes < t.offset) in.fail("transfer range is empty or wraps");
    if (t.from.isZero() || t.to.isZero() || t.from == t.to) in.fail("transfer endpoints invalid");
    transfers.push_back(t);
  }
  return transfers;
}

// A status code read off the wire, bounded to the known ones.
Code getCode(ByteReader& in, const char* what) {
  const uint16_t code = in.get<uint16_t>(what);
  if (in.ok() && code > static_cast<uint16_t>(kLastCode)) {
    in.fail(std::string("unknown ") + what + " " + std::to_string(code));
    return Code::kOk;
  }
  return static_cast<Code>(code);
}

}  // namespace

void StateVote::encode(ByteWriter& out) const {
  out.put<uint64_t>(group_revision);
  out.put<uint64_t>(state_revision);
  out.put<uint8_t>(strategy);
  putEntries(out, entries);
}

StateVote StateVote::decode(ByteReader& in) {
  StateVote m;
  m.group_revision = in.get<uint64_t>("group revision");
  m.state_revision = in.get<uint64_t>("state revision");
  m.strategy = in.get<uint8_t>("strategy");
  if (in.ok() && m.strategy > kMaxStrategy) {
    in.fail("unknown sync strategy " + std::to_string(m.strategy));
  }
  m.entries = getEntries(in);
  return m;
}

void StatePlan::encode(ByteWriter& out) const {
  out.put<uint64_t>(sync);
  out.put<uint32_t>(round);
  out.put<uint8_t>(static_cast<uint8_t>(kind));
  out.put<uint64_t>(state_revision);
  out.put<uint16_t>(static_cast<uint16_t>(code));
  out.putString(text);
  putExpectations(out, receive);
  putTransfers(out, transfers);
}

StatePlan StatePlan::decode(ByteReader& in) {
  StatePlan m;
  m.sync = in.get<uint64_t>("sync");
  m.round = in.get<uint32_t>("round");
  const uint8_t kind = in.get<uint8_t>("plan kind");
  m.state_revision = in.get<uint64_t>("state revision");
  const uint16_t code = in.get<uint16_t>("code");
  m.text = in.getString("text", kMaxReason);
  if (!in.ok()) return m;
  if (kind < static_cast<uint8_t>(PlanKind::kRound) ||
      kind > static_cast<uint8_t>(PlanKind::kFailed)) {
    in.fail("unknown plan kind " + std::to_string(kind));
    return m;
  }
  m.kind = static_cast<PlanKind>(kind);
  if (code > static_cast<uint16_t>(kLastCode) ||
      (m.kind == PlanKind::kFailed) != (code != 0)) {
    in.fail("plan code " + std::to_string(code) + " does not fit its kind");
    return m;
  }
  m.code = static_cast<Code>(code);
  m.receive = getExpectations(in);
  m.transfers = getTransfers(in);
  if (in.ok() && m.kind != PlanKind::kRound && (!m.receive.empty() || !m.transfers.empty())) {
    in.fail("a final plan lists transfers");
  }
  return m;
}

void StateDone::encode(ByteWriter& out) const {
  out.put<uint64_t>(sync);
  out.put<uint32_t>(round);
  out.put<uint32_t>(static_cast<uint32_t>(failed_transfers.size()));
  for (uint32_t id : failed_transfers)
    out.put<uint32_t>(id);
  out.put<uint32_t>(static_cast<uint32_t>(bad_entries.size()));
  for (uint32_t entry : bad_entries)
    out.put<uint32_t>(entry);
  out.putString(reason);
}

StateDone StateDone::decode(ByteReader& in) {
  StateDone m;
  m.sync = in.get<uint64_t>("sync");
  m.round = in.get<uint32_t>("round");
  const uint32_t failed = getCount(in, kMaxPlanTransfers, "failed transfer count");
  for (uint32_t i = 0; i < failed && in.ok(); ++i) {
    m.failed_transfers.push_back(in.get<uint32_t>("failed transfer"));
  }
  const uint32_t bad = getCount(in, kMaxStateEntries, "bad entry count");
  for (uint32_t i = 0; i < bad && in.ok(); ++i) {
    const uint32_t entry = in.get<uint32_t>("bad entry");
    if (in.ok() && entry >= kMaxStateEntries) in.fail("bad entry out of range");
    m.bad_entries.push_back(entry);
  }
  m.reason = in.getString("reason", kMaxReason);
  return m;
}

void StateFetchRequest::encode(ByteWriter& out) const {
  out.put<uint64_t>(fetch);
  out.put<uint64_t>(bytes_per_s);
  putEntries(out, entries);
  out.putString(group);
}

StateFetchRequest StateFetchRequest::decode(ByteReader& in) {
  StateFetchRequest m;
  m.fetch = in.get<uint64_t>("fetch");
  m.bytes_per_s = in.get<uint64_t>("pace");
  m.entries = getEntries(in);
  m.group = in.getString("group", kMaxGroupName);
  return m;
}

void StateFetchPlan::encode(ByteWriter& out) const {
  out.put<uint64_t>(sync);
  out.put<uint64_t>(state_revision);
  putId(out, fetcher);
  out.put<uint64_t>(fetch);
  out.put<uint64_t>(bytes_per_s);
  out.put<uint16_t>(static_cast<uint16_t>(code));
  out.putString(text);
  putExpectations(out, receive);
  putTransfers(out, transfers);
  out.put<uint32_t>(static_cast<uint32_t>(addresses.size()));
  for (const Member& member : addresses) {
    putId(out, member.peer);
    out.putString(member.host);
    out.put<uint16_t>(member.port);
  }
}

StateFetchPlan StateFetchPlan::decode(ByteReader& in) {
  StateFetchPlan m;
  m.sync = in.get<uint64_t>("sync");
  m.state_revision = in.get<uint64_t>("state revision");
  m.fetcher = getId(in, "fetcher");
  m.fetch = in.get<uint64_t>("fetch");
  m.bytes_per_s = in.get<uint64_t>("pace");
  m.code = getCode(in, "code");
  m.text = in.getString("text", kMaxReason);
  if (in.ok() && m.fetcher.isZero()) in.fail("a fetch plan without its fetcher");
  m.receive = getExpectations(in);
  m.transfers = getTransfers(in);
  const uint32_t addresses = getCount(in, kMaxGroupMembers, "address count");
  for (uint32_t i = 0; i < addresses && in.ok(); ++i) {
    Member member;
    member.peer = getId(in, "address peer");
    member.host = in.getString("address host", kMaxHostName);
    member.port = in.get<uint16_t>("address port");
    if (in.ok() && (member.peer.isZero() || member.host.empty() || member.port == 0)) {
      in.fail("address " + std::to_string(i) + " has no id or address");
    }
    m.addresses.push_back(std::move(member));
  }
  if (!in.ok()) return m;
  for (const StateTransfer& t : m.transfers) {
    if (t.to != m.fetcher) {
      in.fail("a fetch plan transfer to another peer than the fetcher");
      break;
    }
  }
  if (in.ok() && m.code != Code::kOk && (!m.receive.empty() || !m.transfers.empty())) {
    in.fail("a failed fetch plan lists transfers");
  }
  return m;
}

void StateFetchDone::encode(ByteWriter& out) const {
  out.put<uint64_t>(fetch);
  out.put<uint64_t>(sync);
  out.put<uint32_t>(entries_verified);
  out.put<uint32_t>(entries_missing);
}

StateFetchDone StateFetchDone::decode(ByteReader& in) {
  StateFetchDone m;
  m.fetch = in.get<uint64_t>("fetch");
  m.sync = in.get<uint64_t>("sync");
  m.entries_verified = in.get<uint32_t>("entries verified");
  m.entries_missing = in.get<uint32_t>("entries missing");
  if (in.ok() && (m.entries_verified > kMaxStateEntries || m.entries_missing > kMaxStateEntries)) {
    in.fail("entry counts beyond the limit");
  }
  return m;
}

}  // namespace eccl::protocol
