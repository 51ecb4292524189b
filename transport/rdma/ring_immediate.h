// The 32-bit immediate values of RdmaStream's ring protocol. The top two bits
// say what the write that carried it did; for data, the rest count the bytes
// it put into the ring.
#pragma once

#include <cstdint>
#include <optional>

namespace eccl::transport::rdma {

struct RingImmediate {
  enum class Kind : uint8_t {
    kData = 0,    // `bytes` more bytes follow the ones before in the reader's ring
    kCredit = 1,  // the writer's credit word moved: the reader made room
    kEnd = 2,     // the writer shut its side down after everything before
  };
  static constexpr uint32_t kMaxDataBytes = (uint32_t{1} << 30) - 1;

  Kind kind = Kind::kData;
  uint32_t bytes = 0;

  static constexpr uint32_t data(uint32_t bytes) { return bytes; }  // bytes <= kMaxDataBytes
  static constexpr uint32_t credit() { return uint32_t{1} << 30; }
  static constexpr uint32_t end() { return uint32_t{2} << 30; }

  // None for a value the protocol never sends (the fourth kind, a credit or
  // an end with bytes).
  static constexpr std::optional<RingImmediate> decode(uint32_t value) {
    const uint32_t bytes = value & kMaxDataBytes;
    switch (value >> 30) {
      case 0:
        return RingImmediate{Kind::kData, bytes};
      case 1:
        if (bytes == 0) return RingImmediate{Kind::kCredit, 0};
        return std::nullopt;
      case 2:
        if (bytes == 0) return RingImmediate{Kind::kEnd, 0};
        return std::nullopt;
      default:
        return std::nullopt;
    }
  }
};

}  // namespace eccl::transport::rdma
