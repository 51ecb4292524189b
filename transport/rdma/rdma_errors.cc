#include "transport/rdma/rdma_errors.h"

#include <string>

namespace eccl::transport::rdma {
namespace {

class RdmaCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "eccl-rdma"; }
  std::string message(int value) const override {
    switch (static_cast<RdmaErrc>(value)) {
      case RdmaErrc::kQueuePairFailed:
        return "the RDMA queue pair failed (the other end is gone or refused a write)";
      case RdmaErrc::kBrokenProtocol:
        return "the other end broke the RDMA ring protocol";
      case RdmaErrc::kBytesOnSocket:
        return "the other end sent bytes on the socket of an RDMA connection";
    }
    return "RDMA transport error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& rdmaCategory() {
  static const RdmaCategory category;
  return category;
}

std::error_code make_error_code(RdmaErrc errc) {
  return {static_cast<int>(errc), rdmaCategory()};
}

}  // namespace eccl::transport::rdma
