// Status and Result<T>: how every layer below the C API reports errors.
//
// A Status is a code plus a human message that names what went wrong and where
// (which peer, which stream, which field). The C shims map the code to an
// ecclResult_t and keep the message as the thread's last-error text.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace eccl {

enum class Code : int {
  kOk = 0,
  kInvalidArgument,  // a caller passed something unusable (null, wrong size, bad enum)
  kInvalidUsage,     // a call made in the wrong state or disagreeing with a peer
  kSystemError,      // the OS refused (socket, memory map, thread)
  kInternalError,    // a broken invariant inside ECCL
  kConnectionError,  // a connection failed, closed or timed out at the transport level
  kProtocolError,    // a peer sent bytes that are not valid ECCL protocol
  kTimeout,          // a deadline passed
  kPeerLost,         // a peer of the group is gone
  kAborted,          // the operation was cancelled locally
  kOutOfMemory,
  kUnsupported,  // a feature or version this build does not have
  kAuthError,    // the other side did not prove the cluster identity, or refused ours
};

// The highest code: decoders of codes from the wire accept 1..kLastCode.
inline constexpr Code kLastCode = Code::kAuthError;

std::string_view codeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return {}; }

  bool isOk() const { return code_ == Code::kOk; }
  explicit operator bool() const { return isOk(); }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "ConnectionError: peer 127.0.0.1:4000 closed the connection"
  std::string toString() const;

  // Prefixes the message with context, keeping the code: "while connecting: <message>".
  Status withContext(std::string_view context) const;

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

inline Status invalidArgument(std::string m) {
  return {Code::kInvalidArgument, std::move(m)};
}
inline Status invalidUsage(std::string m) {
  return {Code::kInvalidUsage, std::move(m)};
}
inline Status protocolError(std::string m) {
  return {Code::kProtocolError, std::move(m)};
}
inline Status connectionError(std::string m) {
  return {Code::kConnectionError, std::move(m)};
}
inline Status timeoutError(std::string m) {
  return {Code::kTimeout, std::move(m)};
}
inline Status abortedError(std::string m) {
  return {Code::kAborted, std::move(m)};
}
inline Status internalError(std::string m) {
  return {Code::kInternalError, std::move(m)};
}
inline Status systemError(std::string m) {
  return {Code::kSystemError, std::move(m)};
}
inline Status unsupportedError(std::string m) {
  return {Code::kUnsupported, std::move(m)};
}
inline Status authError(std::string m) {
  return {Code::kAuthError, std::move(m)};
}

// A value or the Status explaining why there is none.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) {}  // NOLINT: implicit by design

  bool isOk() const { return value_.has_value(); }
  explicit operator bool() const { return isOk(); }
  const Status& status() const { return status_; }

  T& value() & { return *value_; }
  const T& value() const& { return *value_; }
  T&& value() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace eccl

// Returns early with the Status of an expression that failed.
#define ECCL_RETURN_IF_ERROR(expr)                 \
  do {                                             \
    ::eccl::Status eccl_status_ = (expr);          \
    if (!eccl_status_.isOk()) return eccl_status_; \
  } while (0)
