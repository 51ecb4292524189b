// Why a shared-memory connection, or its negotiation, failed: the
// std::error_code ShmStream reports (FrameConnection logs its message).
#pragma once

#include <system_error>

namespace eccl::transport::shm {

enum class ShmErrc {
  kNotNegotiating = 1,  // the other side sent something else than the transport exchange
  kUnsupported,         // another version of the exchange
  kBadMessage,          // a field of the exchange out of range
  kCorruptRing,         // the other side broke the ring's invariants
  kClosed,              // the other side closed during the exchange
};

const std::error_category& shmCategory();
std::error_code make_error_code(ShmErrc errc);

}  // namespace eccl::transport::shm

template <>
struct std::is_error_code_enum<eccl::transport::shm::ShmErrc> : std::true_type {};
