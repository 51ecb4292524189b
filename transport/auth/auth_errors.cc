#include "transport/auth/auth_errors.h"

#include <string>

namespace eccl::transport::auth {
namespace {

class AuthCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "eccl.auth"; }
  std::string message(int value) const override {
    switch (static_cast<AuthErrc>(value)) {
      case AuthErrc::kRefused:
        return "authentication failed: the other side refused our proof (the cluster secrets "
               "differ)";
      case AuthErrc::kBadProof:
        return "authentication failed: the other side's proof is wrong (the cluster secrets "
               "differ)";
      case AuthErrc::kUnauthenticated:
        return "authentication failed: the other side did not authenticate (it has no cluster "
               "secret)";
      case AuthErrc::kNotEccl:
        return "authentication failed: the other side does not speak ECCL";
      case AuthErrc::kUnsupported:
        return "authentication failed: the other side uses another authentication version";
      case AuthErrc::kClosed:
        return "the other side closed the connection during authentication (has it the same "
               "cluster secret?)";
    }
    return "authentication failed";
  }
};

}  // namespace

const std::error_category& authCategory() {
  static const AuthCategory category;
  return category;
}

std::error_code make_error_code(AuthErrc errc) {
  return {static_cast<int>(errc), authCategory()};
}

bool isAuthRejection(const std::error_code& ec) {
  return ec.category() == authCategory() && ec != AuthErrc::kClosed;
}

}  // namespace eccl::transport::auth
