// One libFuzzer target per wire decoder, data plane (messages.h), membership
// control plane (control_messages.h), shared-state sync (state_messages.h),
// pipeline stages (stage_messages.h), peer reports and anomaly events
// (report_messages.h);
// ECCL_FUZZ_DECODER (set per target in CMakeLists.txt) names the decoder,
// e.g. -DECCL_FUZZ_DECODER=kHello.
//
// Besides crashes and sanitizer reports, each target checks the codec's
// contract on every input:
//  - a refusal is a ProtocolError (Unsupported for a foreign version) with a message;
//  - what is accepted satisfies the documented limits;
//  - the wire format has one encoding per value, so re-encoding an accepted
//    message gives back the input bytes, and those decode to the same values.
// A broken property abort()s, which libFuzzer reports as a crash.
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <span>
#include <string>
#include <tuple>
#include <vector>

#include "src/protocol/control_messages.h"
#include "src/protocol/frame.h"
#include "src/protocol/messages.h"
#include "src/protocol/report_messages.h"
#include "src/protocol/stage_messages.h"
#include "src/protocol/state_messages.h"

namespace eccl::protocol {
namespace {

enum class Decoder {
  kFrameHeader,
  kHello,
  kHelloAck,
  kChunkHeader,
  kCredit,
  kPoolCredit,
  kStreamError,
  kPing,
  kGoodbye,
  kDelivered,
  // Membership control plane.
  kRegister,
  kRegistered,
  kHeartbeat,
  kHeartbeatAck,
  kTopologyVote,
  kTopology,
  kChannelsReady,
  kTopologyCommit,
  kPeerEvent,
  kGroupStatus,
  kLeave,
  kControlError,
  kPeerLookup,
  kPeerAddress,
  kOpReport,
  kOpVerdict,
  // Shared-state sync.
  kStateVote,
  kStatePlan,
  kStateDone,
  kStateFetchRequest,
  kStateFetchPlan,
  kStateFetchDone,
  // Pipeline stages.
  kStageMetric,
  kStageQuery,
  kStageInfo,
  kStageEvent,
  kStageAnnounce,
  // Peer reports and anomaly events.
  kPeerReport,
  kAnomalyEvent,
};
constexpr Decoder kDecoder = Decoder::ECCL_FUZZ_DECODER;

void check(bool holds, const char* property) {
  if (holds) return;
  std::fprintf(stderr, "decoder property broken: %s\n", property);
  std::abort();
}

bool sameBytes(std::span<const uint8_t> a, std::span<const uint8_t> b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin());
}

void checkRefusal(const Status& status) {
  check(status.code() == Code::kProtocolError || status.code() == Code::kUnsupported,
        "a refusal is a ProtocolError or Unsupported");
  check(!status.message().empty(), "a refusal says what is wrong");
}

// Every field of a message, so that two decodings compare with ==.
auto fields(const Hello& m) {
  return std::tie(m.kind, m.endpoint, m.channel, m.connection_index, m.connection_count,
                  m.chunk_bytes, m.pool_bytes, m.auth_nonce, m.auth_tag);
}
auto fields(const HelloAck& m) {
  return std::tie(m.endpoint, m.status, m.chunk_bytes, m.pool_bytes, m.auth_nonce, m.auth_tag,
                  m.reason);
}
auto fields(const ChunkHeader& m) {
  return std::tie(m.stream, m.message, m.offset, m.total, m.seq);
}
auto fields(const Credit& m) {
  return std::tie(m.stream, m.bytes);
}
auto fields(const PoolCredit& m) {
  return std::tie(m.bytes);
}
auto fields(const StreamError& m) {
  return std::tie(m.stream, m.message, m.origin, m.dispatched, m.code, m.text);
}
auto fields(const Ping& m) {
  return std::tie(m.nonce);
}
auto fields(const Goodbye& m) {
  return std::tie(m.code, m.text);
}
auto fields(const Delivered& m) {
  return std::tie(m.messages);
}
auto fields(const Register& m) {
  return std::tie(m.peer, m.token, m.group, m.host, m.data_port, m.state, m.revision, m.rank,
                  m.world_size, m.flags, m.stage, m.num_stages, m.evicted_as, m.evicted_token);
}
auto fields(const Registered& m) {
  return std::tie(m.peer, m.token, m.incarnation, m.heartbeat_ms, m.miss_limit, m.state,
                  m.revision);
}
auto fields(const Heartbeat& m) {
  return std::tie(m.seq, m.ops_completed);
}
auto fields(const HeartbeatAck& m) {
  return std::tie(m.seq);
}
auto fields(const TopologyVote& m) {
  return std::tie(m.revision);
}
auto fields(const Topology& m) {
  return std::tie(m.revision, m.members, m.departed);
}
auto fields(const ChannelsReady& m) {
  return std::tie(m.revision);
}
auto fields(const TopologyCommit& m) {
  return std::tie(m.revision);
}
auto fields(const PeerEvent& m) {
  return std::tie(m.kind, m.peer, m.revision);
}
auto fields(const GroupStatus& m) {
  return std::tie(m.pending, m.accepted, m.revision);
}
auto fields(const Leave& m) {
  return std::tie(m.reason);
}
auto fields(const ControlError& m) {
  return std::tie(m.code, m.text);
}
auto fields(const PeerLookup& m) {
  return std::tie(m.request, m.peer, m.group, m.rank);
}
auto fields(const PeerAddress& m) {
  return std::tie(m.request, m.result, m.peer, m.group, m.rank, m.host, m.port);
}
auto fields(const OpReport& m) {
  return std::tie(m.op, m.progress);
}
auto fields(const OpVerdict& m) {
  return std::tie(m.op, m.decision);
}
auto fields(const StateVote& m) {
  return std::tie(m.group_revision, m.state_revision, m.strategy, m.entries);
}
auto fields(const StatePlan& m) {
  return std::tie(m.sync, m.round, m.kind, m.state_revision, m.code, m.text, m.receive,
                  m.transfers);
}
auto fields(const StateDone& m) {
  return std::tie(m.sync, m.round, m.failed_transfers, m.bad_entries, m.reason);
}
auto fields(const StateFetchRequest& m) {
  return std::tie(m.fetch, m.bytes_per_s, m.entries, m.group);
}
auto fields(const StateFetchPlan& m) {
  return std::tie(m.sync, m.state_revision, m.fetcher, m.fetch, m.bytes_per_s, m.code, m.text,
                  m.receive, m.transfers, m.addresses);
}
auto fields(const StateFetchDone& m) {
  return std::tie(m.fetch, m.sync, m.entries_verified, m.entries_missing);
}
auto fields(const StageMetric& m) {
  return std::tie(m.round, m.value);
}
auto fields(const StageQuery& m) {
  return std::tie(m.request, m.stage);
}
auto fields(const StageInfo& m) {
  return std::tie(m.request, m.stage, m.state, m.group, m.accepted, m.has_metric, m.metric_round,
                  m.metric, m.metric_peer);
}
auto fields(const StageEvent& m) {
  return std::tie(m.kind, m.stage, m.round, m.group);
}
auto fields(const StageAnnounce& m) {
  return std::tie(m.request, m.round);
}
// LinkReport has no operator==: its fields, compared as tuples.
auto fields(const PeerReport& m) {
  std::vector<std::tuple<EndpointId, uint64_t, uint64_t, uint64_t, uint64_t, uint32_t>> links;
  for (const LinkReport& link : m.links)
    links.emplace_back(link.peer, link.bytes_sent, link.bytes_received, link.wait_ns,
                       link.send_busy_ns, link.send_stalled_ms);
  return std::make_tuple(m.revision, m.ops_completed, m.ops_failed, m.running_phase, m.running_tag,
                         m.running_ms, m.waiting_on, m.waiting_ms, links);
}
auto fields(const AnomalyEvent& m) {
  return std::tie(m.kind, m.peer, m.link_to, m.revision, m.value, m.threshold);
}
auto fields(const FrameHeader& m) {
  return std::tie(m.type, m.flags, m.length, m.checksum);
}

// Peer text must come out of printable() with nothing a terminal would act on.
void checkPrintable(const std::string& text) {
  for (char c : printable(text))
    check(c >= 0x20 && c < 0x7f, "printable() leaves only ASCII");
}

// The documented limits of what each decoder accepts.
void checkAccepted(const Hello& m) {
  check(m.kind == ConnectionKind::kData, "Hello kind is known");
  check(m.connection_count >= 1 && m.connection_count <= Hello::kMaxConnections,
        "Hello connection_count in range");
  check(m.connection_index < m.connection_count, "Hello index below count");
  check(m.chunk_bytes >= 1 && m.chunk_bytes <= kMaxChunkPayload, "Hello chunk_bytes in range");
  check(!m.endpoint.isZero() && !m.channel.isZero(), "Hello ids nonzero");
}
void checkAccepted(const HelloAck& m) {
  check(static_cast<uint8_t>(m.status) <= static_cast<uint8_t>(HandshakeStatus::kOverloaded),
        "HelloAck status known");
  check(m.reason.size() <= HelloAck::kMaxReason, "HelloAck reason within limit");
  if (m.status == HandshakeStatus::kAccepted) {
    check(m.chunk_bytes >= 1 && m.chunk_bytes <= kMaxChunkPayload, "HelloAck chunk_bytes");
    check(!m.endpoint.isZero(), "HelloAck endpoint nonzero");
  }
  checkPrintable(m.reason);
}
void checkAccepted(const Credit& m) {
  check(m.bytes <= ChunkHeader::kMaxMessageBytes, "Credit within the message limit");
}
void checkAccepted(const PoolCredit&) {}
void checkAccepted(const StreamError& m) {
  check(m.origin == StreamErrorOrigin::kSender || m.origin == StreamErrorOrigin::kReceiver,
        "StreamError origin known");
  check(m.code != Code::kOk && static_cast<int>(m.code) <= static_cast<int>(kLastCode),
        "StreamError code is an error");
  check(m.text.size() <= StreamError::kMaxText, "StreamError text within limit");
  checkPrintable(m.text);
}
void checkAccepted(const Ping&) {}
void checkAccepted(const Goodbye& m) {
  check(static_cast<int>(m.code) <= static_cast<int>(kLastCode), "Goodbye code known");
  check(m.text.size() <= Goodbye::kMaxText, "Goodbye text within limit");
  checkPrintable(m.text);
}
void checkAccepted(const Delivered& m) {
  check(!m.messages.empty() && m.messages.size() <= Delivered::kMaxMessages,
        "Delivered count in range");
}

bool knownPeerState(PeerState state) {
  return state == PeerState::kNew || state == PeerState::kPending || state == PeerState::kAccepted;
}
void checkAccepted(const Register& m) {
  check(knownPeerState(m.state), "Register state known");
  check(m.group.size() <= kMaxGroupName, "Register group within limit");
  check(m.host.size() <= kMaxHostName, "Register host within limit");
  check(!m.host.empty() && m.data_port != 0, "Register has a data address");
  check(m.world_size <= kMaxGroupMembers, "Register world_size within the group limit");
  check(m.world_size == 0 || m.rank < m.world_size, "Register rank below world_size");
  check(m.state == PeerState::kNew || !m.peer.isZero(), "rejoining Register carries its id");
  check((m.flags & ~(Register::kFlagFetchState | Register::kFlagEvictedBefore)) == 0,
        "Register flags known");
  check(((m.flags & Register::kFlagEvictedBefore) != 0) == !m.evicted_as.isZero(),
        "Register names the evicted peer exactly when flagged");
  check(m.stage == -1 ? m.num_stages == 0
                      : m.stage >= 0 && m.num_stages >= 1 && m.num_stages <= kMaxStages &&
                            static_cast<uint32_t>(m.stage) < m.num_stages,
        "Register stage below num_stages <= kMaxStages, or no stage and no pipeline");
  checkPrintable(m.group);
  checkPrintable(m.host);
}
void checkAccepted(const Registered& m) {
  check(m.state == PeerState::kPending || m.state == PeerState::kAccepted,
        "Registered state is pending or accepted");
  check(!m.peer.isZero(), "Registered peer nonzero");
  check(m.heartbeat_ms != 0 && m.miss_limit != 0, "Registered heartbeat settings nonzero");
}
void checkAccepted(const Heartbeat&) {}
void checkAccepted(const HeartbeatAck&) {}
void checkAccepted(const TopologyVote&) {}
void checkAccepted(const Topology& m) {
  check(!m.members.empty() && m.members.size() <= kMaxGroupMembers, "Topology member count");
  check(m.departed.size() <= kMaxGroupMembers, "Topology departed count");
  for (const Member& member : m.members) {
    check(!member.peer.isZero() && !member.host.empty() && member.port != 0,
          "Topology member has an id and an address");
    check(member.host.size() <= kMaxHostName, "Topology member host within limit");
    checkPrintable(member.host);
  }
}
void checkAccepted(const ChannelsReady&) {}
void checkAccepted(const TopologyCommit&) {}
void checkAccepted(const PeerEvent& m) {
  check(static_cast<uint8_t>(m.kind) >= static_cast<uint8_t>(PeerEventKind::kJoined) &&
            static_cast<uint8_t>(m.kind) <= static_cast<uint8_t>(PeerEventKind::kEvicted),
        "PeerEvent kind known");
}
void checkAccepted(const GroupStatus&) {}
void checkAccepted(const Leave& m) {
  check(m.reason.size() <= kMaxReason, "Leave reason within limit");
  checkPrintable(m.reason);
}
void checkAccepted(const ControlError& m) {
  check(m.code != Code::kOk && static_cast<int>(m.code) <= static_cast<int>(kLastCode),
        "ControlError code is an error");
  check(m.text.size() <= kMaxReason, "ControlError text within limit");
  checkPrintable(m.text);
}

void checkAccepted(const PeerLookup& m) {
  check(!m.peer.isZero() || !m.group.empty(), "PeerLookup names a peer or a group");
  check(m.group.size() <= kMaxGroupName, "PeerLookup group within limit");
}
void checkAccepted(const PeerAddress& m) {
  check(static_cast<uint8_t>(m.result) <= static_cast<uint8_t>(LookupResult::kNotAccepted),
        "PeerAddress result known");
  check(m.result != LookupResult::kFound || (!m.host.empty() && m.port != 0),
        "a found PeerAddress has an address");
  check(m.host.size() <= kMaxHostName, "PeerAddress host within limit");
}

void checkAccepted(const OpReport& m) {
  check(m.progress >= OpProgress::kIncomplete && m.progress <= OpProgress::kSucceeded,
        "OpReport progress known");
}
void checkAccepted(const OpVerdict& m) {
  check(m.decision >= OpDecision::kQuery && m.decision <= OpDecision::kFailed,
        "OpVerdict decision known");
}

// The protocol layer does not see src/state or src/reduce: their enums' sizes.
constexpr uint8_t kMaxSyncStrategy = 2;  // state::kMaxStrategy
constexpr uint8_t kNumDTypes = 12;       // reduce::kNumDTypes

// The entry summaries of a StateVote or a StateFetchRequest.
void checkEntries(const std::vector<StateEntrySummary>& entries) {
  check(entries.size() <= kMaxStateEntries, "entry count within limit");
  for (size_t i = 0; i < entries.size(); ++i) {
    const StateEntrySummary& entry = entries[i];
    check(!entry.name.empty() && entry.name.size() <= kMaxStateEntryName,
          "entry name 1..kMaxStateEntryName bytes");
    check(entry.dtype < kNumDTypes, "entry dtype known");
    check((entry.flags & ~kStateFlagAllowInequality) == 0, "entry flags known");
    check(entry.zstd_permille <= 1000, "entry zstd ratio at most 1000 per mille");
    check(i == 0 || entries[i - 1].name < entry.name, "entry names strictly increasing");
    checkPrintable(entry.name);
  }
}

// What a StatePlan or a StateFetchPlan receives and which transfers it lists.
void checkTransfers(const std::vector<StateExpectation>& receive,
                    const std::vector<StateTransfer>& transfers) {
  check(receive.size() <= kMaxStateEntries, "receive count within limit");
  for (const StateExpectation& e : receive)
    check(e.entry < kMaxStateEntries, "receive entry in range");
  check(transfers.size() <= kMaxPlanTransfers, "transfer count within limit");
  for (const StateTransfer& t : transfers) {
    check(t.entry < kMaxStateEntries, "transfer entry in range");
    check(t.bytes > 0 && t.offset + t.bytes > t.offset, "transfer range nonempty, no wrap");
    check(!t.from.isZero() && !t.to.isZero() && t.from != t.to,
          "transfer between two distinct peers");
    check(t.codec <= 1, "transfer codec known");
  }
}

void checkAccepted(const StateVote& m) {
  check(m.strategy <= kMaxSyncStrategy, "StateVote strategy known");
  checkEntries(m.entries);
}
void checkAccepted(const StatePlan& m) {
  check(m.kind >= PlanKind::kRound && m.kind <= PlanKind::kFailed, "StatePlan kind known");
  check(static_cast<int>(m.code) <= static_cast<int>(kLastCode), "StatePlan code known");
  check((m.kind == PlanKind::kFailed) == (m.code != Code::kOk),
        "StatePlan has an error code exactly when it failed");
  check(m.text.size() <= kMaxReason, "StatePlan text within limit");
  check(m.kind == PlanKind::kRound || (m.receive.empty() && m.transfers.empty()),
        "a final StatePlan lists no transfers");
  checkTransfers(m.receive, m.transfers);
  checkPrintable(m.text);
}
void checkAccepted(const StateDone& m) {
  check(m.failed_transfers.size() <= kMaxPlanTransfers, "StateDone failed count within limit");
  check(m.bad_entries.size() <= kMaxStateEntries, "StateDone bad entry count within limit");
  for (uint32_t entry : m.bad_entries)
    check(entry < kMaxStateEntries, "StateDone bad entry in range");
  check(m.reason.size() <= kMaxReason, "StateDone reason within limit");
  checkPrintable(m.reason);
}
void checkAccepted(const StateFetchRequest& m) {
  checkEntries(m.entries);
  check(m.group.size() <= kMaxGroupName, "StateFetchRequest group within limit");
}
void checkAccepted(const StateFetchPlan& m) {
  check(!m.fetcher.isZero(), "StateFetchPlan names its fetcher");
  check(static_cast<int>(m.code) <= static_cast<int>(kLastCode),
        "StateFetchPlan code known");
  check(m.text.size() <= kMaxReason, "StateFetchPlan text within limit");
  check(m.code == Code::kOk || (m.receive.empty() && m.transfers.empty()),
        "a failed StateFetchPlan lists no transfers");
  checkTransfers(m.receive, m.transfers);
  for (const StateTransfer& t : m.transfers)
    check(t.to == m.fetcher, "StateFetchPlan transfers go to the fetcher");
  check(m.addresses.size() <= kMaxGroupMembers, "StateFetchPlan address count within limit");
  for (const Member& member : m.addresses) {
    check(!member.peer.isZero() && !member.host.empty() && member.port != 0,
          "StateFetchPlan address has an id and an address");
    check(member.host.size() <= kMaxHostName, "StateFetchPlan address host within limit");
    checkPrintable(member.host);
  }
  checkPrintable(m.text);
}
void checkAccepted(const StateFetchDone& m) {
  check(m.entries_verified <= kMaxStateEntries && m.entries_missing <= kMaxStateEntries,
        "StateFetchDone counts within the entry limit");
}

bool finiteMetric(double value) {
  return value == value && value >= 0 && value <= std::numeric_limits<double>::max();
}
void checkAccepted(const StageMetric& m) {
  check(finiteMetric(m.value), "StageMetric value finite and >= 0");
}
void checkAccepted(const StageQuery& m) {
  check(m.stage < kMaxStages, "StageQuery stage below kMaxStages");
}
void checkAccepted(const StageInfo& m) {
  check(m.stage < kMaxStages, "StageInfo stage below kMaxStages");
  check(m.state <= StageState::kRecovering, "StageInfo state known");
  check((m.state == StageState::kUnknown) == m.group.empty(), "StageInfo group iff known");
  check(m.group.size() <= kMaxGroupName, "StageInfo group within limit");
  check(m.accepted <= kMaxGroupMembers, "StageInfo accepted within the group limit");
  if (m.has_metric) {
    check(finiteMetric(m.metric) && !m.metric_peer.isZero(), "StageInfo metric valid");
  } else {
    check(m.metric_round == 0 && m.metric == 0 && m.metric_peer.isZero(),
          "StageInfo without a metric has zero metric fields");
  }
  checkPrintable(m.group);
}
void checkAccepted(const StageEvent& m) {
  check(m.kind == StageEventKind::kLost || m.kind == StageEventKind::kRestored,
        "StageEvent kind known");
  check(m.stage < kMaxStages, "StageEvent stage below kMaxStages");
  check(!m.group.empty() && m.group.size() <= kMaxGroupName, "StageEvent group 1..kMaxGroupName");
  check(m.kind != StageEventKind::kLost || m.round == 0, "StageEvent lost without a round");
  checkPrintable(m.group);
}
void checkAccepted(const StageAnnounce&) {}  // any request and round
void checkAccepted(const PeerReport& m) {
  check(m.running_phase <= RunningPhase::kCompletion, "PeerReport running phase known");
  check(m.running_phase != RunningPhase::kNone ||
            (m.running_tag == 0 && m.running_ms == 0 && m.waiting_on.isZero() && m.waiting_ms == 0),
        "PeerReport without a running op has zero running fields");
  check(m.links.size() <= PeerReport::kMaxLinks, "PeerReport link count within limit");
  check(!m.waiting_on.isZero() || m.waiting_ms == 0, "PeerReport blocked on nobody for no time");
  for (size_t i = 0; i < m.links.size(); ++i) {
    check(!m.links[i].peer.isZero(), "PeerReport link peer nonzero");
    for (size_t j = 0; j < i; ++j)
      check(m.links[i].peer != m.links[j].peer, "PeerReport links to distinct peers");
  }
}
void checkAccepted(const AnomalyEvent& m) {
  const auto kind = static_cast<uint8_t>(m.kind);
  check(kind >= 1 && kind <= kLastAnomalyKind, "AnomalyEvent kind known");
  check(!m.peer.isZero(), "AnomalyEvent peer nonzero");
  const bool about_link = m.kind == AnomalyKind::kSlowLink || m.kind == AnomalyKind::kFrozenLink;
  check(about_link ? !m.link_to.isZero() && m.link_to != m.peer : m.link_to.isZero(),
        "AnomalyEvent names a link's other end exactly when it is about a link");
  check(finiteMetric(m.value) && finiteMetric(m.threshold),
        "AnomalyEvent value and threshold finite and >= 0");
}

template <typename Message>
void fuzzControlMessage(std::span<const uint8_t> input) {
  auto decoded = decodeMessage<Message>(input);
  if (!decoded) {
    checkRefusal(decoded.status());
    return;
  }
  checkAccepted(*decoded);
  // Through a whole checksummed frame, as a peer would send it back.
  const std::vector<uint8_t> frame = encodeFrame(*decoded, /*with_checksum=*/true);
  auto header = decodeFrameHeader(frame);
  check(header.isOk(), "the frame of an accepted message is accepted");
  const auto payload = std::span(frame).subspan(kFrameHeaderSize);
  check(header->type == Message::kType && header->length == payload.size(),
        "frame header describes its payload");
  check(verifyChecksum(*header, payload).isOk(), "fresh frame passes its checksum");
  check(payload.size() <= maxPayloadLength(Message::kType), "accepted message fits its frame");
  check(sameBytes(payload, input), "re-encoding gives back the input bytes");
  auto again = decodeMessage<Message>(payload);
  check(again.isOk(), "re-encoded message is accepted");
  check(fields(*again) == fields(*decoded), "re-decoded values are the same");
}

void fuzzFrameHeader(std::span<const uint8_t> input) {
  auto decoded = decodeFrameHeader(input);
  if (!decoded) {
    checkRefusal(decoded.status());
    return;
  }
  check((decoded->flags & ~allowedFlags(decoded->type)) == 0, "only allowed flags");
  check(decoded->length <= maxPayloadLength(decoded->type), "length within the type's limit");
  check(decoded->has(kFlagChecksum) || decoded->checksum == 0, "checksum only when flagged");
  std::array<uint8_t, kFrameHeaderSize> encoded{};
  encodeFrameHeader(*decoded, encoded);
  check(sameBytes(encoded, input.first(kFrameHeaderSize)), "re-encoding gives back the header");
  auto again = decodeFrameHeader(encoded);
  check(again.isOk() && fields(*again) == fields(*decoded), "re-decoded header is the same");
  // Whatever follows is the payload; checking it must be safe for any bytes.
  const auto rest = input.subspan(kFrameHeaderSize);
  if (rest.size() >= decoded->length) {
    Status checksum = verifyChecksum(*decoded, rest.first(decoded->length));
    if (!checksum.isOk()) checkRefusal(checksum);
  }
}

// The first 8 bytes are the slice length the frame would declare; the rest is the header.
void fuzzChunkHeader(std::span<const uint8_t> input) {
  if (input.size() < 8) return;
  const uint64_t payload_bytes = loadLe<uint64_t>(input.data());
  const auto header_bytes = input.subspan(8);
  auto decoded = decodeChunkHeader(header_bytes, payload_bytes);
  if (!decoded) {
    checkRefusal(decoded.status());
    return;
  }
  check(decoded->total <= ChunkHeader::kMaxMessageBytes, "total within the message limit");
  check(decoded->offset <= decoded->total && payload_bytes <= decoded->total - decoded->offset,
        "slice lies inside the message");
  std::array<uint8_t, ChunkHeader::kEncodedSize> encoded{};
  decoded->encodeTo(encoded);
  check(sameBytes(encoded, header_bytes), "re-encoding gives back the input bytes");
  auto again = decodeChunkHeader(encoded, payload_bytes);
  check(again.isOk() && fields(*again) == fields(*decoded), "re-decoded header is the same");
}

void fuzzOne(std::span<const uint8_t> input) {
  // A switch on a constant rather than `if constexpr`: every helper stays referenced
  // (no unused-function warnings), and the optimiser drops the other decoders.
  switch (kDecoder) {
    case Decoder::kFrameHeader:
      return fuzzFrameHeader(input);
    case Decoder::kHello:
      return fuzzControlMessage<Hello>(input);
    case Decoder::kHelloAck:
      return fuzzControlMessage<HelloAck>(input);
    case Decoder::kChunkHeader:
      return fuzzChunkHeader(input);
    case Decoder::kCredit:
      return fuzzControlMessage<Credit>(input);
    case Decoder::kPoolCredit:
      return fuzzControlMessage<PoolCredit>(input);
    case Decoder::kStreamError:
      return fuzzControlMessage<StreamError>(input);
    case Decoder::kPing:
      return fuzzControlMessage<Ping>(input);
    case Decoder::kGoodbye:
      return fuzzControlMessage<Goodbye>(input);
    case Decoder::kDelivered:
      return fuzzControlMessage<Delivered>(input);
    case Decoder::kRegister:
      return fuzzControlMessage<Register>(input);
    case Decoder::kRegistered:
      return fuzzControlMessage<Registered>(input);
    case Decoder::kHeartbeat:
      return fuzzControlMessage<Heartbeat>(input);
    case Decoder::kHeartbeatAck:
      return fuzzControlMessage<HeartbeatAck>(input);
    case Decoder::kTopologyVote:
      return fuzzControlMessage<TopologyVote>(input);
    case Decoder::kTopology:
      return fuzzControlMessage<Topology>(input);
    case Decoder::kChannelsReady:
      return fuzzControlMessage<ChannelsReady>(input);
    case Decoder::kTopologyCommit:
      return fuzzControlMessage<TopologyCommit>(input);
    case Decoder::kPeerEvent:
      return fuzzControlMessage<PeerEvent>(input);
    case Decoder::kGroupStatus:
      return fuzzControlMessage<GroupStatus>(input);
    case Decoder::kLeave:
      return fuzzControlMessage<Leave>(input);
    case Decoder::kControlError:
      return fuzzControlMessage<ControlError>(input);
    case Decoder::kPeerLookup:
      return fuzzControlMessage<PeerLookup>(input);
    case Decoder::kPeerAddress:
      return fuzzControlMessage<PeerAddress>(input);
    case Decoder::kOpReport:
      return fuzzControlMessage<OpReport>(input);
    case Decoder::kOpVerdict:
      return fuzzControlMessage<OpVerdict>(input);
    case Decoder::kStateVote:
      return fuzzControlMessage<StateVote>(input);
    case Decoder::kStatePlan:
      return fuzzControlMessage<StatePlan>(input);
    case Decoder::kStateDone:
      return fuzzControlMessage<StateDone>(input);
    case Decoder::kStateFetchRequest:
      return fuzzControlMessage<StateFetchRequest>(input);
    case Decoder::kStateFetchPlan:
      return fuzzControlMessage<StateFetchPlan>(input);
    case Decoder::kStateFetchDone:
      return fuzzControlMessage<StateFetchDone>(input);
    case Decoder::kStageMetric:
      return fuzzControlMessage<StageMetric>(input);
    case Decoder::kStageQuery:
      return fuzzControlMessage<StageQuery>(input);
    case Decoder::kStageInfo:
      return fuzzControlMessage<StageInfo>(input);
    case Decoder::kStageEvent:
      return fuzzControlMessage<StageEvent>(input);
    case Decoder::kStageAnnounce:
      return fuzzControlMessage<StageAnnounce>(input);
    case Decoder::kPeerReport:
      return fuzzControlMessage<PeerReport>(input);
    case Decoder::kAnomalyEvent:
      return fuzzControlMessage<AnomalyEvent>(input);
  }
}

}  // namespace
}  // namespace eccl::protocol

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  eccl::protocol::fuzzOne(std::span<const uint8_t>(data, size));
  return 0;
}
