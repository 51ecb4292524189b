// Per-message test knowledge: a sample with distinct values in every field,
// a field-by-field comparison, and the wire layout (field names and sizes in
// encoding order) that the truncation tests walk. Covers the data-plane
// messages (messages.h), the membership control plane (control_messages.h),
// the pipeline-stage messages (stage_messages.h), the peer reports and the
// anomaly events (report_messages.h).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "src/protocol/control_messages.h"
#include "src/protocol/messages.h"
#include "src/protocol/report_messages.h"
#include "src/protocol/stage_messages.h"

namespace eccl::protocol::test {

// One field as it lies on the wire; a string is two fields (its u16 length, then its bytes),
// both named after the string, as the decoder names them.
struct WireField {
  std::string name;
  size_t size;
};

// Bytes 1..16 plus `base`, so no two ids and no two fields look alike.
inline EndpointId sampleId(uint8_t base) {
  EndpointId id;
  for (size_t i = 0; i < id.bytes.size(); ++i)
    id.bytes[i] = static_cast<uint8_t>(base + i + 1);
  return id;
}

// Bytes 1..32 plus `base`: a certificate fingerprint.
inline CertificateFingerprint sampleCertificate(uint8_t base) {
  CertificateFingerprint certificate{};
  for (size_t i = 0; i < certificate.size(); ++i)
    certificate[i] = static_cast<uint8_t>(base + i + 1);
  return certificate;
}

inline AuthField sampleAuth(uint8_t base) {
  AuthField field{};
  for (size_t i = 0; i < field.size(); ++i)
    field[i] = static_cast<uint8_t>(base + i);
  return field;
}

inline PeerToken sampleToken(uint8_t base) {
  PeerToken token{};
  for (size_t i = 0; i < token.size(); ++i)
    token[i] = static_cast<uint8_t>(base + 2 * i);
  return token;
}

template <typename Message>
struct MessageTraits;

template <>
struct MessageTraits<Hello> {
  static Hello sample() {
    Hello m;
    m.endpoint = sampleId(0x10);
    m.channel = sampleId(0x40);
    m.connection_index = 3;
    m.connection_count = 7;
    m.chunk_bytes = 1u << 20;
    m.pool_bytes = 0x0123456789abcdefULL;
    m.auth_nonce = sampleAuth(0x80);
    m.auth_tag = sampleAuth(0xa0);
    return m;
  }
  static void expectSame(const Hello& a, const Hello& b) {
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.endpoint, b.endpoint);
    EXPECT_EQ(a.channel, b.channel);
    EXPECT_EQ(a.connection_index, b.connection_index);
    EXPECT_EQ(a.connection_count, b.connection_count);
    EXPECT_EQ(a.chunk_bytes, b.chunk_bytes);
    EXPECT_EQ(a.pool_bytes, b.pool_bytes);
    EXPECT_EQ(a.auth_nonce, b.auth_nonce);
    EXPECT_EQ(a.auth_tag, b.auth_tag);
  }
  static std::vector<WireField> layout(const Hello&) {
    return {{"kind", 1},
            {"endpoint", 16},
            {"channel", 16},
            {"connection_index", 2},
            {"connection_count", 2},
            {"chunk_bytes", 4},
            {"pool_bytes", 8},
            {"auth_nonce", kAuthFieldSize},
            {"auth_tag", kAuthFieldSize}};
  }
};

template <>
struct MessageTraits<HelloAck> {
  static HelloAck sample() {
    HelloAck m;
    m.endpoint = sampleId(0x20);
    m.status = HandshakeStatus::kAccepted;
    m.chunk_bytes = 65536;
    m.pool_bytes = 0xfedcba9876543210ULL;
    m.auth_nonce = sampleAuth(0x30);
    m.auth_tag = sampleAuth(0x60);
    m.reason = "welcome";
    return m;
  }
  static void expectSame(const HelloAck& a, const HelloAck& b) {
    EXPECT_EQ(a.endpoint, b.endpoint);
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.chunk_bytes, b.chunk_bytes);
    EXPECT_EQ(a.pool_bytes, b.pool_bytes);
    EXPECT_EQ(a.auth_nonce, b.auth_nonce);
    EXPECT_EQ(a.auth_tag, b.auth_tag);
    EXPECT_EQ(a.reason, b.reason);
  }
  static std::vector<WireField> layout(const HelloAck& m) {
    return {{"endpoint", 16},
            {"status", 1},
            {"chunk_bytes", 4},
            {"pool_bytes", 8},
            {"auth_nonce", kAuthFieldSize},
            {"auth_tag", kAuthFieldSize},
            {"reason", 2},
            {"reason", m.reason.size()}};
  }
};

template <>
struct MessageTraits<Credit> {
  static Credit sample() { return Credit{0x1122334455667788ULL, 0x0000123456789abcULL}; }
  static void expectSame(const Credit& a, const Credit& b) {
    EXPECT_EQ(a.stream, b.stream);
    EXPECT_EQ(a.bytes, b.bytes);
  }
  static std::vector<WireField> layout(const Credit&) { return {{"stream", 8}, {"bytes", 8}}; }
};

template <>
struct MessageTraits<PoolCredit> {
  static PoolCredit sample() { return PoolCredit{0xa1b2c3d4e5f60718ULL}; }
  static void expectSame(const PoolCredit& a, const PoolCredit& b) { EXPECT_EQ(a.bytes, b.bytes); }
  static std::vector<WireField> layout(const PoolCredit&) { return {{"bytes", 8}}; }
};

template <>
struct MessageTraits<StreamError> {
  static StreamError sample() {
    StreamError m;
    m.stream = 0x0102030405060708ULL;
    m.message = 0x1112131415161718ULL;
    m.origin = StreamErrorOrigin::kSender;
    m.dispatched = 0x2122232425262728ULL;
    m.code = Code::kOutOfMemory;
    m.text = "buffer too small";
    return m;
  }
  static void expectSame(const StreamError& a, const StreamError& b) {
    EXPECT_EQ(a.stream, b.stream);
    EXPECT_EQ(a.message, b.message);
    EXPECT_EQ(a.origin, b.origin);
    EXPECT_EQ(a.dispatched, b.dispatched);
    EXPECT_EQ(a.code, b.code);
    EXPECT_EQ(a.text, b.text);
  }
  static std::vector<WireField> layout(const StreamError& m) {
    return {{"stream", 8}, {"message", 8}, {"origin", 1},          {"dispatched", 8},
            {"code", 2},   {"text", 2},    {"text", m.text.size()}};
  }
};

template <>
struct MessageTraits<Ping> {
  static Ping sample() { return Ping{0xdeadbeefcafef00dULL}; }
  static void expectSame(const Ping& a, const Ping& b) { EXPECT_EQ(a.nonce, b.nonce); }
  static std::vector<WireField> layout(const Ping&) { return {{"nonce", 8}}; }
};

template <>
struct MessageTraits<Goodbye> {
  static Goodbye sample() {
    Goodbye m;
    m.code = Code::kAborted;
    m.text = "shutting down";
    return m;
  }
  static void expectSame(const Goodbye& a, const Goodbye& b) {
    EXPECT_EQ(a.code, b.code);
    EXPECT_EQ(a.text, b.text);
  }
  static std::vector<WireField> layout(const Goodbye& m) {
    return {{"code", 2}, {"text", 2}, {"text", m.text.size()}};
  }
};

template <>
struct MessageTraits<Delivered> {
  static Delivered sample() {
    Delivered m;
    m.messages = {1, 0x0102030405060708ULL, 3};
    return m;
  }
  static void expectSame(const Delivered& a, const Delivered& b) {
    EXPECT_EQ(a.messages, b.messages);
  }
  static std::vector<WireField> layout(const Delivered& m) {
    std::vector<WireField> fields = {{"count", 2}};
    for (size_t i = 0; i < m.messages.size(); ++i)
      fields.push_back({"message", 8});
    return fields;
  }
};

// ---- Membership control plane ---------------------------------------------------

template <>
struct MessageTraits<Register> {
  static Register sample() {
    Register m;
    m.peer = sampleId(0x50);
    m.token = sampleToken(0x90);
    m.group = "trainers";
    m.host = "node-7.cluster";
    m.data_port = 40001;
    m.state = PeerState::kAccepted;
    m.revision = 0x3132333435363738ULL;
    m.rank = 5;
    m.world_size = 8;
    m.flags = Register::kFlagFetchState;
    m.stage = 2;
    m.num_stages = 5;
    return m;
  }
  static void expectSame(const Register& a, const Register& b) {
    EXPECT_EQ(a.peer, b.peer);
    EXPECT_EQ(a.token, b.token);
    EXPECT_EQ(a.group, b.group);
    EXPECT_EQ(a.host, b.host);
    EXPECT_EQ(a.data_port, b.data_port);
    EXPECT_EQ(a.state, b.state);
    EXPECT_EQ(a.revision, b.revision);
    EXPECT_EQ(a.rank, b.rank);
    EXPECT_EQ(a.world_size, b.world_size);
    EXPECT_EQ(a.flags, b.flags);
    EXPECT_EQ(a.stage, b.stage);
    EXPECT_EQ(a.num_stages, b.num_stages);
  }
  static std::vector<WireField> layout(const Register& m) {
    return {{"peer", 16},      {"token", 32},
            {"group", 2},      {"group", m.group.size()},
            {"host", 2},       {"host", m.host.size()},
            {"data_port", 2},  {"state", 1},
            {"revision", 8},   {"rank", 4},
            {"world_size", 4}, {"flags", 1},
            {"stage", 4},      {"num_stages", 4}};
  }
};

template <>
struct MessageTraits<Registered> {
  static Registered sample() {
    Registered m;
    m.peer = sampleId(0x60);
    m.token = sampleToken(0xc0);
    m.incarnation = 0x4142434445464748ULL;
    m.heartbeat_ms = 500;
    m.miss_limit = 3;
    m.state = PeerState::kAccepted;
    m.revision = 0x5152535455565758ULL;
    return m;
  }
  static void expectSame(const Registered& a, const Registered& b) {
    EXPECT_EQ(a.peer, b.peer);
    EXPECT_EQ(a.token, b.token);
    EXPECT_EQ(a.incarnation, b.incarnation);
    EXPECT_EQ(a.heartbeat_ms, b.heartbeat_ms);
    EXPECT_EQ(a.miss_limit, b.miss_limit);
    EXPECT_EQ(a.state, b.state);
    EXPECT_EQ(a.revision, b.revision);
  }
  static std::vector<WireField> layout(const Registered&) {
    return {{"peer", 16},      {"token", 32}, {"incarnation", 8}, {"heartbeat_ms", 4},
            {"miss_limit", 2}, {"state", 1},  {"revision", 8}};
  }
};

template <>
struct MessageTraits<Heartbeat> {
  static Heartbeat sample() { return Heartbeat{0x6162636465666768ULL, 0x7172737475767778ULL}; }
  static void expectSame(const Heartbeat& a, const Heartbeat& b) {
    EXPECT_EQ(a.seq, b.seq);
    EXPECT_EQ(a.ops_completed, b.ops_completed);
  }
  static std::vector<WireField> layout(const Heartbeat&) {
    return {{"seq", 8}, {"ops_completed", 8}};
  }
};

template <>
struct MessageTraits<HeartbeatAck> {
  static HeartbeatAck sample() { return HeartbeatAck{0x8182838485868788ULL}; }
  static void expectSame(const HeartbeatAck& a, const HeartbeatAck& b) { EXPECT_EQ(a.seq, b.seq); }
  static std::vector<WireField> layout(const HeartbeatAck&) { return {{"seq", 8}}; }
};

template <>
struct MessageTraits<TopologyVote> {
  static TopologyVote sample() { return TopologyVote{0x9192939495969798ULL}; }
  static void expectSame(const TopologyVote& a, const TopologyVote& b) {
    EXPECT_EQ(a.revision, b.revision);
  }
  static std::vector<WireField> layout(const TopologyVote&) { return {{"revision", 8}}; }
};

template <>
struct MessageTraits<Topology> {
  static Topology sample() {
    Topology m;
    m.revision = 0x0102030405060708ULL;
    m.members = {{sampleId(0x10), "10.0.0.1", 40001, sampleCertificate(0x90)},
                 {sampleId(0x20), "node-b", 40002, {}},  // registered without TLS
                 {sampleId(0x30), "fe80::1", 0xffff, sampleCertificate(0xb0)}};
    m.departed = {sampleId(0x70), sampleId(0x80)};
    return m;
  }
  static void expectSame(const Topology& a, const Topology& b) {
    EXPECT_EQ(a.revision, b.revision);
    EXPECT_EQ(a.members, b.members);
    EXPECT_EQ(a.departed, b.departed);
  }
  static std::vector<WireField> layout(const Topology& m) {
    std::vector<WireField> fields = {{"revision", 8}, {"member count", 4}};
    for (const Member& member : m.members) {
      fields.push_back({"member peer", 16});
      fields.push_back({"member host", 2});
      fields.push_back({"member host", member.host.size()});
      fields.push_back({"member port", 2});
      fields.push_back({"member certificate", 32});
    }
    fields.push_back({"departed count", 4});
    for (size_t i = 0; i < m.departed.size(); ++i)
      fields.push_back({"departed", 16});
    return fields;
  }
};

template <>
struct MessageTraits<ChannelsReady> {
  static ChannelsReady sample() { return ChannelsReady{0xa1a2a3a4a5a6a7a8ULL}; }
  static void expectSame(const ChannelsReady& a, const ChannelsReady& b) {
    EXPECT_EQ(a.revision, b.revision);
  }
  static std::vector<WireField> layout(const ChannelsReady&) { return {{"revision", 8}}; }
};

template <>
struct MessageTraits<TopologyCommit> {
  static TopologyCommit sample() { return TopologyCommit{0xb1b2b3b4b5b6b7b8ULL}; }
  static void expectSame(const TopologyCommit& a, const TopologyCommit& b) {
    EXPECT_EQ(a.revision, b.revision);
  }
  static std::vector<WireField> layout(const TopologyCommit&) { return {{"revision", 8}}; }
};

template <>
struct MessageTraits<PeerEvent> {
  static PeerEvent sample() {
    PeerEvent m;
    m.kind = PeerEventKind::kLost;
    m.peer = sampleId(0x33);
    m.revision = 0xc1c2c3c4c5c6c7c8ULL;
    return m;
  }
  static void expectSame(const PeerEvent& a, const PeerEvent& b) {
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.peer, b.peer);
    EXPECT_EQ(a.revision, b.revision);
  }
  static std::vector<WireField> layout(const PeerEvent&) {
    return {{"kind", 1}, {"peer", 16}, {"revision", 8}};
  }
};

template <>
struct MessageTraits<GroupStatus> {
  static GroupStatus sample() { return GroupStatus{0x01020304, 0x11121314, 0xd1d2d3d4d5d6d7d8ULL}; }
  static void expectSame(const GroupStatus& a, const GroupStatus& b) {
    EXPECT_EQ(a.pending, b.pending);
    EXPECT_EQ(a.accepted, b.accepted);
    EXPECT_EQ(a.revision, b.revision);
  }
  static std::vector<WireField> layout(const GroupStatus&) {
    return {{"pending", 4}, {"accepted", 4}, {"revision", 8}};
  }
};

template <>
struct MessageTraits<Leave> {
  static Leave sample() { return Leave{"training finished"}; }
  static void expectSame(const Leave& a, const Leave& b) { EXPECT_EQ(a.reason, b.reason); }
  static std::vector<WireField> layout(const Leave& m) {
    return {{"reason", 2}, {"reason", m.reason.size()}};
  }
};

template <>
struct MessageTraits<ControlError> {
  static ControlError sample() {
    ControlError m;
    m.code = Code::kTimeout;
    m.text = "vote for revision 6 is stale";
    return m;
  }
  static void expectSame(const ControlError& a, const ControlError& b) {
    EXPECT_EQ(a.code, b.code);
    EXPECT_EQ(a.text, b.text);
  }
  static std::vector<WireField> layout(const ControlError& m) {
    return {{"code", 2}, {"text", 2}, {"text", m.text.size()}};
  }
};

template <>
struct MessageTraits<PeerLookup> {
  static PeerLookup sample() {
    PeerLookup m;
    m.request = 0x0102030405060708ULL;
    m.group = "stage-2";
    m.rank = 0x11121314;
    return m;
  }
  static void expectSame(const PeerLookup& a, const PeerLookup& b) {
    EXPECT_EQ(a.request, b.request);
    EXPECT_EQ(a.peer, b.peer);
    EXPECT_EQ(a.group, b.group);
    EXPECT_EQ(a.rank, b.rank);
  }
  static std::vector<WireField> layout(const PeerLookup& m) {
    return {{"request", 8}, {"peer", 16}, {"group", 2}, {"group", m.group.size()}, {"rank", 4}};
  }
};

template <>
struct MessageTraits<PeerAddress> {
  static PeerAddress sample() {
    PeerAddress m;
    m.request = 0x0102030405060708ULL;
    m.result = LookupResult::kFound;
    m.peer = sampleId(0x44);
    m.group = "stage-2";
    m.rank = 3;
    m.host = "10.1.2.3";
    m.port = 0x1234;
    m.certificate = sampleCertificate(0xc0);
    return m;
  }
  static void expectSame(const PeerAddress& a, const PeerAddress& b) {
    EXPECT_EQ(a.request, b.request);
    EXPECT_EQ(a.result, b.result);
    EXPECT_EQ(a.peer, b.peer);
    EXPECT_EQ(a.group, b.group);
    EXPECT_EQ(a.rank, b.rank);
    EXPECT_EQ(a.host, b.host);
    EXPECT_EQ(a.port, b.port);
    EXPECT_EQ(a.certificate, b.certificate);
  }
  static std::vector<WireField> layout(const PeerAddress& m) {
    return {{"request", 8},
            {"result", 1},
            {"peer", 16},
            {"group", 2},
            {"group", m.group.size()},
            {"rank", 4},
            {"host", 2},
            {"host", m.host.size()},
            {"port", 2},
            {"certificate", 32}};
  }
};

template <>
struct MessageTraits<OpReport> {
  static OpReport sample() {
    OpReport m;
    m.op = {0x0102030405060708ULL, 0x11121314, 0x21222324};
    m.progress = OpProgress::kComplete;
    return m;
  }
  static void expectSame(const OpReport& a, const OpReport& b) {
    EXPECT_EQ(a.op, b.op);
    EXPECT_EQ(a.progress, b.progress);
  }
  static std::vector<WireField> layout(const OpReport&) {
    return {{"revision", 8}, {"tag", 8}, {"index", 4}, {"op progress", 1}};
  }
};

template <>
struct MessageTraits<OpVerdict> {
  static OpVerdict sample() {
    OpVerdict m;
    m.op = {0x0102030405060708ULL, 0x11121314, 0x21222324};
    m.decision = OpDecision::kFailed;
    return m;
  }
  static void expectSame(const OpVerdict& a, const OpVerdict& b) {
    EXPECT_EQ(a.op, b.op);
    EXPECT_EQ(a.decision, b.decision);
  }
  static std::vector<WireField> layout(const OpVerdict&) {
    return {{"revision", 8}, {"tag", 8}, {"index", 4}, {"op decision", 1}};
  }
};

// ---- Pipeline stages ------------------------------------------------------------

template <>
struct MessageTraits<StageMetric> {
  static StageMetric sample() { return StageMetric{0x0102030405060708ULL, 12.375}; }
  static void expectSame(const StageMetric& a, const StageMetric& b) {
    EXPECT_EQ(a.round, b.round);
    EXPECT_EQ(a.value, b.value);
  }
  static std::vector<WireField> layout(const StageMetric&) { return {{"round", 8}, {"value", 8}}; }
};

template <>
struct MessageTraits<StageQuery> {
  static StageQuery sample() { return StageQuery{0x1112131415161718ULL, 4095}; }
  static void expectSame(const StageQuery& a, const StageQuery& b) {
    EXPECT_EQ(a.request, b.request);
    EXPECT_EQ(a.stage, b.stage);
  }
  static std::vector<WireField> layout(const StageQuery&) { return {{"request", 8}, {"stage", 4}}; }
};

template <>
struct MessageTraits<StageInfo> {
  static StageInfo sample() {
    StageInfo m;
    m.request = 0x2122232425262728ULL;
    m.stage = 3;
    m.state = StageState::kLost;
    m.group = "stage-3";
    m.accepted = 0;
    m.has_metric = true;
    m.metric_round = 0x3132333435363738ULL;
    m.metric = 0.5;
    m.metric_peer = sampleId(0x55);
    return m;
  }
  static void expectSame(const StageInfo& a, const StageInfo& b) {
    EXPECT_EQ(a.request, b.request);
    EXPECT_EQ(a.stage, b.stage);
    EXPECT_EQ(a.state, b.state);
    EXPECT_EQ(a.group, b.group);
    EXPECT_EQ(a.accepted, b.accepted);
    EXPECT_EQ(a.has_metric, b.has_metric);
    EXPECT_EQ(a.metric_round, b.metric_round);
    EXPECT_EQ(a.metric, b.metric);
    EXPECT_EQ(a.metric_peer, b.metric_peer);
  }
  static std::vector<WireField> layout(const StageInfo& m) {
    return {{"request", 8},
            {"stage", 4},
            {"state", 1},
            {"group", 2},
            {"group", m.group.size()},
            {"accepted", 4},
            {"has_metric", 1},
            {"metric_round", 8},
            {"metric", 8},
            {"metric_peer", 16}};
  }
};

template <>
struct MessageTraits<StageEvent> {
  static StageEvent sample() {
    StageEvent m;
    m.kind = StageEventKind::kRestored;
    m.stage = 0x0a0b;
    m.round = 0x4142434445464748ULL;
    m.group = "pipe-stage";
    return m;
  }
  static void expectSame(const StageEvent& a, const StageEvent& b) {
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.stage, b.stage);
    EXPECT_EQ(a.round, b.round);
    EXPECT_EQ(a.group, b.group);
  }
  static std::vector<WireField> layout(const StageEvent& m) {
    return {{"kind", 1}, {"stage", 4}, {"round", 8}, {"group", 2}, {"group", m.group.size()}};
  }
};

template <>
struct MessageTraits<StageAnnounce> {
  static StageAnnounce sample() {
    return StageAnnounce{0x5152535455565758ULL, 0x0102030405060708ULL};
  }
  static void expectSame(const StageAnnounce& a, const StageAnnounce& b) {
    EXPECT_EQ(a.request, b.request);
    EXPECT_EQ(a.round, b.round);
  }
  static std::vector<WireField> layout(const StageAnnounce&) {
    return {{"request", 8}, {"round", 8}};
  }
};

// ---- Peer reports -----------------------------------------------------------------

template <>
struct MessageTraits<PeerReport> {
  // A collective in its data phase, blocked on a neighbour, and two links.
  static PeerReport sample() {
    PeerReport m;
    m.revision = 0x0102030405060708ULL;
    m.ops_completed = 0x1112131415161718ULL;
    m.ops_failed = 0x2122232425262728ULL;
    m.running_phase = RunningPhase::kData;
    m.running_tag = 0x3132333435363738ULL;
    m.running_ms = 0x41424344;
    m.waiting_on = sampleId(0x70);
    m.waiting_ms = 0x51525354;
    m.links = {{sampleId(0x10), 0x6162636465666768ULL, 0x7172737475767778ULL, 0x8182838485868788ULL,
                0xc1c2c3c4c5c6c7c8ULL, 0xd1d2d3d4},
               {sampleId(0x20), 0x9192939495969798ULL, 0xa1a2a3a4a5a6a7a8ULL, 0xb1b2b3b4b5b6b7b8ULL,
                0xe1e2e3e4e5e6e7e8ULL, 0xf1f2f3f4}};
    return m;
  }
  static void expectSame(const PeerReport& a, const PeerReport& b) {
    EXPECT_EQ(a.revision, b.revision);
    EXPECT_EQ(a.ops_completed, b.ops_completed);
    EXPECT_EQ(a.ops_failed, b.ops_failed);
    EXPECT_EQ(a.running_phase, b.running_phase);
    EXPECT_EQ(a.running_tag, b.running_tag);
    EXPECT_EQ(a.running_ms, b.running_ms);
    EXPECT_EQ(a.waiting_on, b.waiting_on);
    EXPECT_EQ(a.waiting_ms, b.waiting_ms);
    ASSERT_EQ(a.links.size(), b.links.size());
    for (size_t i = 0; i < a.links.size(); ++i) {
      EXPECT_EQ(a.links[i].peer, b.links[i].peer) << "link " << i;
      EXPECT_EQ(a.links[i].bytes_sent, b.links[i].bytes_sent) << "link " << i;
      EXPECT_EQ(a.links[i].bytes_received, b.links[i].bytes_received) << "link " << i;
      EXPECT_EQ(a.links[i].wait_ns, b.links[i].wait_ns) << "link " << i;
      EXPECT_EQ(a.links[i].send_busy_ns, b.links[i].send_busy_ns) << "link " << i;
      EXPECT_EQ(a.links[i].send_stalled_ms, b.links[i].send_stalled_ms) << "link " << i;
    }
  }
  static std::vector<WireField> layout(const PeerReport& m) {
    std::vector<WireField> fields = {{"revision", 8},      {"ops_completed", 8}, {"ops_failed", 8},
                                     {"running_phase", 1}, {"running_tag", 8},   {"running_ms", 4},
                                     {"waiting_on", 16},   {"waiting_ms", 4},    {"link count", 2}};
    for (size_t i = 0; i < m.links.size(); ++i) {
      fields.push_back({"link peer", 16});
      fields.push_back({"link bytes_sent", 8});
      fields.push_back({"link bytes_received", 8});
      fields.push_back({"link wait_ns", 8});
      fields.push_back({"link send_busy_ns", 8});
      fields.push_back({"link send_stalled_ms", 4});
    }
    return fields;
  }
};

template <>
struct MessageTraits<AnomalyEvent> {
  // A straggler, with evidence that is neither zero nor an integer.
  static AnomalyEvent sample() {
    AnomalyEvent m;
    m.kind = AnomalyKind::kStraggler;
    m.peer = sampleId(0x40);
    m.revision = 0x0102030405060708ULL;
    m.value = 12.375;
    m.threshold = 0.5;
    return m;
  }
  static void expectSame(const AnomalyEvent& a, const AnomalyEvent& b) {
    EXPECT_EQ(a.kind, b.kind);
    EXPECT_EQ(a.peer, b.peer);
    EXPECT_EQ(a.link_to, b.link_to);
    EXPECT_EQ(a.revision, b.revision);
    EXPECT_EQ(a.value, b.value);
    EXPECT_EQ(a.threshold, b.threshold);
  }
  static std::vector<WireField> layout(const AnomalyEvent&) {
    return {{"kind", 1},     {"peer", 16}, {"link_to", 16},
            {"revision", 8}, {"value", 8}, {"threshold", 8}};
  }
};

// The payload bytes of a message, without a frame header.
template <typename Message>
std::vector<uint8_t> encodePayload(const Message& message) {
  std::vector<uint8_t> out;
  ByteWriter writer(out);
  message.encode(writer);
  return out;
}

// Little-endian bytes of an integer, for building expected encodings by hand.
template <typename T>
void appendLe(std::vector<uint8_t>& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i)
    out.push_back(static_cast<uint8_t>(value >> (8 * i)));
}

inline void appendBytes(std::vector<uint8_t>& out, std::span<const uint8_t> bytes) {
  out.insert(out.end(), bytes.begin(), bytes.end());
}

inline void appendString(std::vector<uint8_t>& out, std::string_view text) {
  // Sized up front: GCC 12 misreads an insert after a push_back as an overflow.
  const size_t at = out.size();
  out.resize(at + 2 + text.size());
  out[at] = static_cast<uint8_t>(text.size());
  out[at + 1] = static_cast<uint8_t>(text.size() >> 8);
  std::copy(text.begin(), text.end(), out.begin() + static_cast<ptrdiff_t>(at + 2));
}

// "Code: message" of a refused payload, or "accepted", so one EXPECT_EQ checks both.
template <typename Message>
std::string verdict(std::span<const uint8_t> payload) {
  auto decoded = decodeMessage<Message>(payload);
  return decoded ? "accepted" : decoded.status().toString();
}

template <typename Message>
std::string verdict(const Message& message) {
  return verdict<Message>(encodePayload(message));
}

// A payload with a u16 starting at `offset` replaced.
inline std::vector<uint8_t> withU16(std::vector<uint8_t> payload, size_t offset, uint16_t value) {
  payload[offset] = static_cast<uint8_t>(value);
  payload[offset + 1] = static_cast<uint8_t>(value >> 8);
  return payload;
}

}  // namespace eccl::protocol::test
