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
#pragma once

#include <cstdint>

namespace eccl::comm {

constexpr uint64_t kPointToPointNamespace = 0xD;

constexpr uint64_t p2pStreamId(uint64_t tag, uint16_t number) {
  return (kPointToPointNamespace << 60) | ((tag & 0xFFFFFFFFu) << 16) | number;
}

}  // namespace eccl::comm
