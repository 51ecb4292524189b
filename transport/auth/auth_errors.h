// Why authentication of a connection failed, as the std::error_code a
// ByteStream reports; FrameConnection turns the definite ones into
// Code::kAuthError (the other side is not of this cluster) and the others
// into kConnectionError (the connection went away while authenticating).
#pragma once

#include <system_error>

namespace eccl::transport::auth {

enum class AuthErrc {
  kRefused = 1,      // the other side rejected our proof: our secret differs from its
  kBadProof,         // the other side's proof is wrong: its secret differs from ours
  kUnauthenticated,  // it sent ECCL frames without authenticating (no secret on its side)
  kNotEccl,          // it sent bytes that are not ECCL at all
  kUnsupported,      // another authentication version or method
  kClosed,           // it closed the connection before authentication finished
};

const std::error_category& authCategory();
std::error_code make_error_code(AuthErrc errc);

// A failure that says the other side is not of this cluster (not a transient one).
bool isAuthRejection(const std::error_code& ec);

}  // namespace eccl::transport::auth

template <>
struct std::is_error_code_enum<eccl::transport::auth::AuthErrc> : std::true_type {};
