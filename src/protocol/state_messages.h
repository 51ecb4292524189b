// Shared-state synchronisation on the control plane (src/state/, ARCHITECTURE
// "Shared state"): each accepted peer sends a StateVote with the hash of each
// named entry; the master answers every member with a StatePlan per transfer
// round (what it sends to whom and what it receives), the members answer each
// round with a StateDone, and the last StatePlan of a sync is final: success
// at a revision, or one error that every member returns.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "src/common/endpoint_id.h"
#include "src/common/status.h"
#include "src/protocol/control_messages.h"
#include "src/protocol/frame.h"
#include "src/protocol/wire.h"

namespace eccl::protocol {

inline constexpr size_t kMaxStateEntries = 4096;
inline constexpr size_t kMaxStateEntryName = 255;
// Transfers one plan may list (a receiver's ranges plus those it serves).
inline constexpr size_t kMaxPlanTransfers = 65536;
inline constexpr uint8_t kStateFlagAllowInequality = 1u << 0;

using StateHash = std::array<uint8_t, 16>;

struct StateEntrySummary {
  std::string name;
  uint64_t count = 0;
  uint8_t dtype = 0;  // reduce::DType
  uint8_t flags = 0;  // kStateFlag*
  StateHash hash{};
  // zstd on a sample of the entry (state/compression.h): compressed / raw
  // size in per mille (at most 1000: no gain, or not sampled) and MB/s.
  uint16_t zstd_permille = 1000;
  uint32_t zstd_mbps = 0;
  friend bool operator==(const StateEntrySummary&, const StateEntrySummary&) = default;
};

// peer -> master: this peer's entries (in name order) at a state revision.
struct StateVote {
  static constexpr MessageType kType = MessageType::kStateVote;
  static constexpr size_t kMaxEntrySize = 2 + kMaxStateEntryName + 8 + 1 + 1 + 16 + 2 + 4;
  static constexpr size_t kMaxEncodedSize = 8 + 8 + 1 + 4 + kMaxStateEntries * kMaxEntrySize;

  uint64_t group_revision = 0;  // the ring the sync runs on
  uint64_t state_revision = 0;
  uint8_t strategy = 0;  // state::SyncStrategy
  std::vector<StateEntrySummary> entries;

  void encode(ByteWriter& out) const;
  static StateVote decode(ByteReader& in);
};

// Bytes [offset, offset + bytes) of entry `entry` (name order) go from `from` to `to`.
struct StateTransfer {
  uint32_t id = 0;  // unique within a sync: the transfer's data stream
  uint32_t entry = 0;
  uint64_t offset = 0;
  uint64_t bytes = 0;
  EndpointId from;
  EndpointId to;
  uint8_t codec = 0;  // 0: one raw message; 1: zstd pieces (state/compression.h)
  friend bool operator==(const StateTransfer&, const StateTransfer&) = default;
};

// An entry this peer receives in the round, and the hash it must have after.
struct StateExpectation {
  uint32_t entry = 0;
  StateHash hash{};
  friend bool operator==(const StateExpectation&, const StateExpectation&) = default;
};

enum class PlanKind : uint8_t {
  kRound = 1,      // transfers to run; answer with a StateDone
  kSucceeded = 2,  // the sync is over: every member holds the popular state
  kFailed = 3,     // the sync is over with `code` and `text` on every member
};

struct StatePlan {
  static constexpr MessageType kType = MessageType::kStatePlan;
  static constexpr size_t kTransferSize = 4 + 4 + 8 + 8 + 16 + 16 + 1;
  static constexpr size_t kMaxEncodedSize = 8 + 4 + 1 + 8 + 2 + (2 + kMaxReason) + 4 +
                                            kMaxStateEntries * (4 + 16) + 4 +
                                            kMaxPlanTransfers * kTransferSize;

  uint64_t sync = 0;  // numbers the group's syncs (data streams of one sync never meet another's)
  uint32_t round = 0;
  PlanKind kind = PlanKind::kRound;
  uint64_t state_revision = 0;  // the revision the group syncs to
  Code code = Code::kOk;        // kFailed only
  std::string text;             // kFailed only
  std::vector<StateExpectation> receive;
  std::vector<StateTransfer> transfers;  // those this peer sends or receives

  void encode(ByteWriter& out) const;
  static StatePlan decode(ByteReader& in);
};

// peer -> master: a round ran; what failed.
struct StateDone {
  static constexpr MessageType kType = MessageType::kStateDone;
  static constexpr size_t kMaxEncodedSize =
      8 + 4 + 4 + kMaxPlanTransfers * 4 + 4 + kMaxStateEntries * 4 + 2 + kMaxReason;

  uint64_t sync = 0;
  uint32_t round = 0;
  std::vector<uint32_t> failed_transfers;  // ids of transfers to this peer that did not arrive
  std::vector<uint32_t> bad_entries;       // arrived, but the hash differs
  std::string reason;                      // the first failure, for the error text

  void encode(ByteWriter& out) const;
  static StateDone decode(ByteReader& in);
};

// A pending peer may fetch the group's shared state before it is admitted
// (ecclCommConnectWithState): it registers with Register::kFlagFetchState and
// asks with a StateFetchRequest; when the group's next sync succeeds, that
// sync's result is the snapshot: the master sends a StateFetchPlan to the
// peer and to the members that serve it (they keep a copy of the ranges they
// serve and send them paced while their training goes on). The peer answers
// with a StateFetchDone and becomes pending; whatever it lacks then (a range
// that failed, entries changed since) the first sync after its admission brings.

// peer -> master: the entries it holds (name order; their hashes: what it
// already has is not sent) and the pace of the whole fetch. A request that
// names a group fetches that group's state without joining it (any
// registered peer; ecclCommFetchGroupState): the snapshot is that group's
// next successful sync, and its StateFetchDone only ends the fetch.
//
// `fetch` numbers the fetches of one peer, and the plan and the done of a
// fetch echo it: a joiner's fetch is 0 (one per connection); a peer numbers
// its fetches of other groups from 1, a new number per fetch, so that the
// late plan of a fetch it gave up on (its plan crossed its StateFetchDone)
// is never taken for the plan of its next one. The master keeps one fetch of
// another group per peer: a request replaces the peer's earlier one (never
// planned from then on), and a StateFetchDone ends the fetch only when it
// names the fetch the master keeps.
struct StateFetchRequest {
  static constexpr MessageType kType = MessageType::kStateFetchRequest;
  static constexpr size_t kMaxEncodedSize =
      8 + 8 + 4 + kMaxStateEntries * StateVote::kMaxEntrySize + 2 + kMaxGroupName;

  uint64_t fetch = 0;        // this fetch's number (above); 0: a joiner's
  uint64_t bytes_per_s = 0;  // 0: unpaced
  std::vector<StateEntrySummary> entries;
  std::string group;  // whose state; empty: the peer's own group (a joiner's fetch)

  void encode(ByteWriter& out) const;
  static StateFetchRequest decode(ByteReader& in);
};

// master -> the fetching peer and each member that serves it. The fetcher
// takes a plan only when `fetch` is its running fetch's number.
struct StateFetchPlan {
  static constexpr MessageType kType = MessageType::kStateFetchPlan;
  static constexpr size_t kMaxAddressSize = 16 + 2 + kMaxHostName + 2;
  static constexpr size_t kMaxEncodedSize =
      8 + 8 + 16 + 8 + 8 + 2 + (2 + kMaxReason) + 4 + kMaxStateEntries * (4 + 16) + 4 +
      kMaxPlanTransfers * StatePlan::kTransferSize + 4 + kMaxGroupMembers * kMaxAddressSize;

  uint64_t sync = 0;            // the sync whose result is the snapshot
  uint64_t state_revision = 0;  // its revision
  EndpointId fetcher;
  uint64_t fetch = 0;        // the fetcher's request's number (StateFetchRequest::fetch)
  uint64_t bytes_per_s = 0;  // each source's pace; 0: unpaced
  Code code = Code::kOk;     // not ok: no fetch (entries that do not match); to the fetcher
  std::string text;
  std::vector<StateExpectation> receive;  // the fetcher's entries and the hashes they must get
  std::vector<StateTransfer> transfers;   // from the sources to the fetcher
  std::vector<Member> addresses;          // data listeners of the fetcher and its sources

  void encode(ByteWriter& out) const;
  static StateFetchPlan decode(ByteReader& in);
};

// fetching peer -> master: the fetch ended; admit it (a joiner: fetch 0), or
// forget it (a fetch of another group's state, fetch >= 1: the master forgets
// it only when it is the peer's fetch that it keeps; sync 0: given up
// without a plan, which may still be on its way).
struct StateFetchDone {
  static constexpr MessageType kType = MessageType::kStateFetchDone;
  static constexpr size_t kEncodedSize = 8 + 8 + 4 + 4;

  uint64_t fetch = 0;  // the request's number (StateFetchRequest::fetch)
  uint64_t sync = 0;
  uint32_t entries_verified = 0;  // entries that arrived with the snapshot's hash
  uint32_t entries_missing =
      0;  // entries that did not (the first sync after admission brings them)

  void encode(ByteWriter& out) const;
  static StateFetchDone decode(ByteReader& in);
};

}  // namespace eccl::protocol
