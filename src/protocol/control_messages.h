// The membership control plane: messages between peers and the master. Each
// encodes into a frame payload and decodes with every field, length and enum
// checked (see messages.h for the shared helpers).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "src/common/endpoint_id.h"
#include "src/common/status.h"
#include "src/protocol/frame.h"
#include "src/protocol/wire.h"

namespace eccl::protocol {

// The secret the master issues with a peer id; a peer proves its id with it
// when it reconnects (e.g. to a restarted master).
using PeerToken = std::array<uint8_t, 32>;
// SHA-256 of a peer's TLS certificate (transport/tls/fingerprint.h), as the
// master saw it at registration; all zero: the peer registered without TLS.
using CertificateFingerprint = std::array<uint8_t, 32>;

inline constexpr size_t kMaxGroupName = 128;
inline constexpr size_t kMaxHostName = 255;
inline constexpr size_t kMaxReason = 1024;
// Largest group a Topology message can describe.
inline constexpr size_t kMaxGroupMembers = 4096;
// Largest pipeline (stages 0..kMaxStages-1) a Register may describe.
inline constexpr uint32_t kMaxStages = 4096;
// The wire value of Register::stage for a peer that is not a pipeline stage.
inline constexpr uint32_t kNoStage = 0xffffffffu;

enum class PeerState : uint8_t {
  kNew = 0,       // never admitted (a first registration)
  kPending = 1,   // registered, waiting for a topology update
  kAccepted = 2,  // member of its group's ring
};

struct Register {
  static constexpr MessageType kType = MessageType::kRegister;
  static constexpr size_t kMaxEncodedSize = 16 + 32 + (2 + kMaxGroupName) + (2 + kMaxHostName) + 2 +
                                            1 + 8 + 4 + 4 + 1 + 4 + 4 + (16 + 32);
  // flags: the peer fetches the group's shared state before it may be admitted
  // (it is not counted as pending until its StateFetchDone).
  static constexpr uint8_t kFlagFetchState = 1u << 0;
  // The process registering was evicted before, as evicted_as (proven by
  // evicted_token): the master makes it wait out that eviction's back-off.
  // Only with this flag are the two fields on the wire.
  static constexpr uint8_t kFlagEvictedBefore = 1u << 1;

  EndpointId peer;  // zero: a new peer; else the id it was given, proven by token
  PeerToken token{};
  std::string group;
  std::string host;  // the address other peers reach its data listener at
  uint16_t data_port = 0;
  // What a rejoining peer knew, so that a restarted master can rebuild its view.
  PeerState state = PeerState::kNew;
  uint64_t revision = 0;
  uint32_t rank = 0;
  uint32_t world_size = 0;
  uint8_t flags = 0;  // kFlag*
  // The pipeline stage its group holds (CheckFree recovery): -1 (kNoStage on
  // the wire) with num_stages 0, or 0 <= stage < num_stages <= kMaxStages.
  int32_t stage = -1;
  uint32_t num_stages = 0;
  EndpointId evicted_as;  // with kFlagEvictedBefore
  PeerToken evicted_token{};

  void encode(ByteWriter& out) const;
  static Register decode(ByteReader& in);
};

struct Registered {
  static constexpr MessageType kType = MessageType::kRegistered;
  static constexpr size_t kEncodedSize = 16 + 32 + 8 + 4 + 2 + 1 + 8;

  EndpointId peer;
  PeerToken token{};
  uint64_t incarnation = 0;  // changes when the master restarts
  uint32_t heartbeat_ms = 0;
  uint16_t miss_limit = 0;
  PeerState state = PeerState::kPending;
  uint64_t revision = 0;  // the group's current revision

  void encode(ByteWriter& out) const;
  static Registered decode(ByteReader& in);
};

struct Heartbeat {
  static constexpr MessageType kType = MessageType::kHeartbeat;
  static constexpr size_t kEncodedSize = 8 + 8;
  uint64_t seq = 0;
  uint64_t ops_completed = 0;  // lets the master tell a hung peer from an idle one
  void encode(ByteWriter& out) const;
  static Heartbeat decode(ByteReader& in);
};

struct HeartbeatAck {
  static constexpr MessageType kType = MessageType::kHeartbeatAck;
  static constexpr size_t kEncodedSize = 8;
  uint64_t seq = 0;
  void encode(ByteWriter& out) const;
  static HeartbeatAck decode(ByteReader& in);
};

// An accepted peer's vote for a topology update at its current revision.
struct TopologyVote {
  static constexpr MessageType kType = MessageType::kTopologyVote;
  static constexpr size_t kEncodedSize = 8;
  uint64_t revision = 0;
  void encode(ByteWriter& out) const;
  static TopologyVote decode(ByteReader& in);
};

struct Member {
  EndpointId peer;
  std::string host;
  uint16_t port = 0;
  CertificateFingerprint certificate{};  // what its data channels must present (TLS)
  friend bool operator==(const Member&, const Member&) = default;
};

// The ring of the next revision, in rank order, and who left since the last one.
struct Topology {
  static constexpr MessageType kType = MessageType::kTopology;
  static constexpr size_t kMaxMemberSize = 16 + 2 + kMaxHostName + 2 + 32;
  static constexpr size_t kMaxEncodedSize =
      8 + 4 + kMaxGroupMembers * kMaxMemberSize + 4 + kMaxGroupMembers * 16;

  uint64_t revision = 0;
  std::vector<Member> members;
  std::vector<EndpointId> departed;

  void encode(ByteWriter& out) const;
  static Topology decode(ByteReader& in);
};

struct ChannelsReady {
  static constexpr MessageType kType = MessageType::kChannelsReady;
  static constexpr size_t kEncodedSize = 8;
  uint64_t revision = 0;
  void encode(ByteWriter& out) const;
  static ChannelsReady decode(ByteReader& in);
};

struct TopologyCommit {
  static constexpr MessageType kType = MessageType::kTopologyCommit;
  static constexpr size_t kEncodedSize = 8;
  uint64_t revision = 0;
  void encode(ByteWriter& out) const;
  static TopologyCommit decode(ByteReader& in);
};

enum class PeerEventKind : uint8_t {
  kJoined = 1,   // registered and pending in the group
  kLeft = 2,     // left gracefully
  kLost = 3,     // missed heartbeats or closed its control connection
  kEvicted = 4,  // removed by the master (e.g. failed to connect its channels)
};

struct PeerEvent {
  static constexpr MessageType kType = MessageType::kPeerEvent;
  static constexpr size_t kEncodedSize = 1 + 16 + 8;
  PeerEventKind kind = PeerEventKind::kJoined;
  EndpointId peer;
  uint64_t revision = 0;  // the group's revision when it happened
  void encode(ByteWriter& out) const;
  static PeerEvent decode(ByteReader& in);
};

struct GroupStatus {
  static constexpr MessageType kType = MessageType::kGroupStatus;
  static constexpr size_t kEncodedSize = 4 + 4 + 8;
  uint32_t pending = 0;
  uint32_t accepted = 0;
  uint64_t revision = 0;
  void encode(ByteWriter& out) const;
  static GroupStatus decode(ByteReader& in);
};

struct Leave {
  static constexpr MessageType kType = MessageType::kLeave;
  static constexpr size_t kMaxEncodedSize = 2 + kMaxReason;
  std::string reason;
  void encode(ByteWriter& out) const;
  static Leave decode(ByteReader& in);
};

struct ControlError {
  static constexpr MessageType kType = MessageType::kControlError;
  static constexpr size_t kMaxEncodedSize = 2 + 2 + kMaxReason;
  Code code = Code::kInvalidUsage;
  std::string text;
  void encode(ByteWriter& out) const;
  static ControlError decode(ByteReader& in);
};

// Point-to-point messages go between any two accepted peers of the cluster,
// across groups: a peer asks the master where one is, by id or by (group,
// rank). The master then also tells the asker when that peer departs (a
// PeerEvent with revision 0 when the peer is of another group).
struct PeerLookup {
  static constexpr MessageType kType = MessageType::kPeerLookup;
  static constexpr size_t kMaxEncodedSize = 8 + 16 + (2 + kMaxGroupName) + 4;
  uint64_t request = 0;  // echoed in the answer
  EndpointId peer;       // zero: look up (group, rank) instead
  std::string group;     // only with a zero peer; must not be empty then
  uint32_t rank = 0;
  void encode(ByteWriter& out) const;
  static PeerLookup decode(ByteReader& in);
};

enum class LookupResult : uint8_t {
  kFound = 0,        // an accepted peer: every field is set
  kUnknown = 1,      // no such peer, group or rank
  kNotAccepted = 2,  // registered but still pending admission
};

struct PeerAddress {
  static constexpr MessageType kType = MessageType::kPeerAddress;
  static constexpr size_t kMaxEncodedSize =
      8 + 1 + 16 + (2 + kMaxGroupName) + 4 + (2 + kMaxHostName) + 2 + 32;
  uint64_t request = 0;
  LookupResult result = LookupResult::kUnknown;
  EndpointId peer;
  std::string group;
  uint32_t rank = 0;
  std::string host;
  uint16_t port = 0;
  // The peer's certificate (found or pending peers); all zero: none, or unknown.
  CertificateFingerprint certificate{};
  void encode(ByteWriter& out) const;
  static PeerAddress decode(ByteReader& in);
};

// ---- Agreement on the outcome of a collective -------------------------------------
// Survivors of a failure in the middle of an op must all succeed or all fail.
// The success path needs no master (a completion lap around the ring); a
// survivor that finished its data but could not learn that every peer did asks
// the master, which asks the other members and decides (src/membership/outcome_arbiter.h).

// One collective op of a group: the index-th collective (from 0) that members
// started at `revision`, with `tag`. Every member calls the same collectives in
// the same order, so every member numbers them the same way.
struct OpRef {
  uint64_t revision = 0;
  uint64_t tag = 0;
  uint32_t index = 0;
  friend auto operator<=>(const OpRef&, const OpRef&) = default;
};

enum class OpProgress : uint8_t {
  kIncomplete = 1,  // its data did not all arrive here, and now never will be used
  kComplete = 2,    // its whole result is here; whether every peer's is, it does not know
  kSucceeded = 3,   // it learned that every peer's result is complete, and returned success
};

// peer -> master: how far this peer got with an op (its question, or an answer).
struct OpReport {
  static constexpr MessageType kType = MessageType::kOpReport;
  static constexpr size_t kEncodedSize = 8 + 8 + 4 + 1;
  OpRef op;
  OpProgress progress = OpProgress::kIncomplete;
  void encode(ByteWriter& out) const;
  static OpReport decode(ByteReader& in);
};

enum class OpDecision : uint8_t {
  kQuery = 1,      // no decision yet: send an OpReport for this op
  kSucceeded = 2,  // every survivor returns success
  kFailed = 3,     // every survivor returns an error
};

// master -> members: a question about an op, or its agreed outcome.
struct OpVerdict {
  static constexpr MessageType kType = MessageType::kOpVerdict;
  static constexpr size_t kEncodedSize = 8 + 8 + 4 + 1;
  OpRef op;
  OpDecision decision = OpDecision::kQuery;
  void encode(ByteWriter& out) const;
  static OpVerdict decode(ByteReader& in);
};

}  // namespace eccl::protocol
