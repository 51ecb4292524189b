// Transport stream ids of point-to-point messages.
//
//   bit 63..60  namespace kPointToPointNamespace (0xD): apart from the
//               collectives' 0xC (src/coll/op_key.h) on a shared channel
//   bit 59..48  zero
//   bit 47..16  the caller's tag (< 2^32)
//   bit 15..0   message number among the messages of that tag in that
//               direction on this channel, mod 2^16
//
// Both ends count the messages per tag and direction, so the k-th send with a
// tag meets the k-th receive with that tag; the transport lets a stream id be
// used again once its previous message was received, which 2^16 blocking
// calls in between guarantee.
//
// All-to-all messages (a pair exchanges one header and one block per op) use
// namespace kAllToAllNamespace (0xE), the ring revision mod 256 in bits
// 59..52 (stale messages of a failed op's revision never match), the tag in
// bits 47..16 and the message (0 header, 1 block) in bits 15..0.
//
// Shared-state transfers (comm_state_sync.cc) use namespace kStateNamespace
// (0xB): the sync number mod 2^12 in bits 59..48 (a late message of an
// abandoned sync never matches the next one), the master's transfer id in
// bits 47..24 and zero below.
//
// The small all-reduce (recursive doubling between partners) uses namespace
// kSmallAllReduceNamespace (0xA) with the same layout; its message is
// 2 * exchange (header) or 2 * exchange + 1 (data), the exchange numbered the
// same way on both partners (comm_rd_allreduce.cc).
#pragma once

#include <cstdint>

namespace eccl::comm {

constexpr uint64_t kPointToPointNamespace = 0xD;

constexpr uint64_t p2pStreamId(uint64_t tag, uint16_t number) {
  return (kPointToPointNamespace << 60) | ((tag & 0xFFFFFFFFu) << 16) | number;
}

constexpr uint64_t kAllToAllNamespace = 0xE;

constexpr uint64_t allToAllStreamId(uint64_t revision, uint64_t tag, uint16_t message) {
  return (kAllToAllNamespace << 60) | ((revision & 0xFF) << 52) | ((tag & 0xFFFFFFFFu) << 16) |
         message;
}

constexpr uint64_t kStateNamespace = 0xB;

constexpr uint64_t stateStreamId(uint64_t sync, uint32_t transfer) {
  return (kStateNamespace << 60) | ((sync & 0xFFF) << 48) | (uint64_t{transfer & 0xFFFFFFu} << 24);
}

constexpr uint64_t kSmallAllReduceNamespace = 0xA;

constexpr uint64_t smallAllReduceStreamId(uint64_t revision, uint64_t tag, uint16_t message) {
  return (kSmallAllReduceNamespace << 60) | ((revision & 0xFF) << 52) |
         ((tag & 0xFFFFFFFFu) << 16) | message;
}

}  // namespace eccl::comm
