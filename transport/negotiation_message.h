// What the messages share by which two ends of a data connection agree on
// its transport (shm/shm_offer.h, rdma/rdma_offer.h): a fixed size, an
// 8-byte magic naming the message, a version byte, then the fields.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "src/common/status.h"

namespace eccl::transport {

using NegotiationMagic = std::array<uint8_t, 8>;

template <size_t N>
void putNegotiationHead(std::array<uint8_t, N>& out, const NegotiationMagic& magic,
                        uint8_t version) {
  std::copy(magic.begin(), magic.end(), out.begin());
  out[magic.size()] = version;
}

// kProtocolError unless `bytes` are `size` bytes that start with `magic`
// ("the other side sent no <exchange> <what><hint>"); kUnsupported for another version.
Status checkNegotiationHead(std::span<const uint8_t> bytes, size_t size,
                            const NegotiationMagic& magic, uint8_t version,
                            std::string_view exchange, std::string_view what,
                            std::string_view hint = {});

// A byte that must be 0 or 1.
Result<bool> negotiationFlag(uint8_t byte, std::string_view exchange, std::string_view what);

}  // namespace eccl::transport
