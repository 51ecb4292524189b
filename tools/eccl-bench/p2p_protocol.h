// How the two processes of `eccl-bench p2p` talk over their ECCL channel and
// over the receiver's stdout.
//
// Per iteration i the receiver posts its buffer for data stream i, then sends
// "ready i" (which carries how many iterations failed verification so far).
// The sender starts its clock after "ready i", sends the data, and stops it
// when "ack i" arrives. The receiver verifies the bytes after sending the ack,
// before the next "ready": verification is never inside a timed interval, and
// it never competes with a transfer for the CPU. After the last iteration one
// more "ready" carries the final failure count.
//
// On stdout the receiver writes "port <P>" once it listens, then at the end
// "result ok" or "result fail <description>".
#pragma once

#include <array>
#include <cstdint>

#include "src/protocol/wire.h"

namespace eccl::tools::bench::p2p {

inline constexpr uint64_t kReadyStreamBase = uint64_t{1} << 40;
inline constexpr uint64_t kAckStreamBase = uint64_t{2} << 40;

inline uint64_t dataStream(uint64_t iteration) {
  return iteration;
}
inline uint64_t readyStream(uint64_t iteration) {
  return kReadyStreamBase + iteration;
}
inline uint64_t ackStream(uint64_t iteration) {
  return kAckStreamBase + iteration;
}

// The control messages carry one little-endian u64.
using ControlMessage = std::array<uint8_t, 8>;

inline ControlMessage encodeControl(uint64_t value) {
  ControlMessage message{};
  protocol::storeLe(message.data(), value);
  return message;
}
inline uint64_t decodeControl(const ControlMessage& message) {
  return protocol::loadLe<uint64_t>(message.data());
}

inline constexpr const char* kPortLinePrefix = "port ";
inline constexpr const char* kResultOk = "result ok";
inline constexpr const char* kResultFailPrefix = "result fail ";

}  // namespace eccl::tools::bench::p2p
