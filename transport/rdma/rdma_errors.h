// Why an RDMA connection failed: the std::error_code RdmaStream reports
// (FrameConnection logs its message).
#pragma once

#include <system_error>

namespace eccl::transport::rdma {

enum class RdmaErrc {
  kQueuePairFailed = 1,  // a write or receive completed in error: the other end is gone
  kBrokenProtocol,       // an immediate or a credit the ring protocol cannot have sent
  kBytesOnSocket,        // the other end wrote to the socket that only watches for its death
};

const std::error_category& rdmaCategory();
std::error_code make_error_code(RdmaErrc errc);

}  // namespace eccl::transport::rdma

template <>
struct std::is_error_code_enum<eccl::transport::rdma::RdmaErrc> : std::true_type {};
