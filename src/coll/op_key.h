// Transport stream ids of a collective operation.
//
// Every message of an op travels on its own stream id, built from the op's
// identity, so that a message of an aborted attempt, of an older topology
// revision or of another op can never be matched with a receive of this one.
//
//   bit 63..60  namespace, kCollectiveNamespace (0xC): keeps other users of a
//               channel (state sync, probes) out of the collectives' ids
//   bit 59..52  topology revision mod 256: stale messages of a revision that
//               far back cannot still be in flight (each revision rebuilds or
//               re-validates the ring first)
//   bit 51..48  attempt mod 16: a retry of the same op on the same revision
//   bit 47..16  tag: the caller's tag, which must be < 2^32
//   bit 15..0   message index within the op: < 2^16 (header streams and the
//               data chunks of every step; see ring_plan.h)
//
// Ids are unique only among ops in flight at the same time: reusing a tag for
// the next op is fine (the transport allows an id again once its previous
// message was received).
//
// The two op headers (index 0 and 1) travel on ids WITHOUT tag and revision
// (both zero): peers that disagree on those still meet there, and the digest
// in the header names the difference instead of both sides timing out. That
// is sound while a communicator runs one op at a time (this version): each
// peer sends and receives exactly one header per op and direction, in op
// order, and a failed op closes its channels, dropping unread headers.
#pragma once

#include <cstdint>

#include "src/common/status.h"

namespace eccl::coll {

struct OpKey {
  uint64_t revision = 0;
  uint64_t tag = 0;
  uint32_t attempt = 0;
};

constexpr uint64_t kCollectiveNamespace = 0xC;
constexpr uint64_t kMaxTag = (uint64_t{1} << 32) - 1;
constexpr uint32_t kMaxMessagesPerOp = 1u << 16;

// Whether the key fits the layout (the tag is the only field that can fail).
Status checkOpKey(const OpKey& key);

// The stream id of data message `index` (>= 2) of the op; index must be <
// kMaxMessagesPerOp and the key valid (checkOpKey): callers check both once per op.
uint64_t streamId(const OpKey& key, uint32_t index);
// The stream id of op header `index` (0 or 1): namespace and index only.
uint64_t headerStreamId(uint32_t index);

// Messages of an op's completion lap (completion_lap.h) travel in their own
// namespace, with the data's layout: forward hop k of the lap is index k,
// backward hop k index kMaxMessagesPerOp / 2 + k (a group has at most
// protocol::kMaxGroupMembers = 4096 members, so hop < 2048 never reaches it).
constexpr uint64_t kCompletionLapNamespace = 0xB;
uint64_t lapStreamId(const OpKey& key, uint32_t hop, bool backward);

}  // namespace eccl::coll
