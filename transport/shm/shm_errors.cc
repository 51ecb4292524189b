#include "transport/shm/shm_errors.h"

#include <string>

namespace eccl::transport::shm {
namespace {

class ShmCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "eccl-shm"; }
  std::string message(int value) const override {
    switch (static_cast<ShmErrc>(value)) {
      case ShmErrc::kNotNegotiating:
        return "the other side does not negotiate ECCL's transport (another build of ECCL, or "
               "not ECCL)";
      case ShmErrc::kUnsupported:
        return "the other side speaks another version of ECCL's transport negotiation";
      case ShmErrc::kBadMessage:
        return "malformed transport negotiation from the other side";
      case ShmErrc::kCorruptRing:
        return "the other side corrupted the shared-memory ring";
      case ShmErrc::kClosed:
        return "the other side closed the connection during transport negotiation";
    }
    return "shared-memory transport error " + std::to_string(value);
  }
};

}  // namespace

const std::error_category& shmCategory() {
  static const ShmCategory category;
  return category;
}

std::error_code make_error_code(ShmErrc errc) {
  return {static_cast<int>(errc), shmCategory()};
}

}  // namespace eccl::transport::shm
