#include "src/common/status.h"

namespace eccl {

std::string_view codeName(Code code) {
  switch (code) {
    case Code::kOk:
      return "Ok";
    case Code::kInvalidArgument:
      return "InvalidArgument";
    case Code::kInvalidUsage:
      return "InvalidUsage";
    case Code::kSystemError:
      return "SystemError";
    case Code::kInternalError:
      return "InternalError";
    case Code::kConnectionError:
      return "ConnectionError";
    case Code::kProtocolError:
      return "ProtocolError";
    case Code::kTimeout:
      return "Timeout";
    case Code::kPeerLost:
      return "PeerLost";
    case Code::kAborted:
      return "Aborted";
    case Code::kOutOfMemory:
      return "OutOfMemory";
    case Code::kUnsupported:
      return "Unsupported";
    case Code::kAuthError:
      return "AuthError";
  }
  return "Unknown";
}

std::string Status::toString() const {
  if (isOk()) return "Ok";
  std::string out(codeName(code_));
  out += ": ";
  out += message_;
  return out;
}

Status Status::withContext(std::string_view context) const {
  if (isOk()) return *this;
  std::string message(context);
  message += ": ";
  message += message_;
  return {code_, std::move(message)};
}

}  // namespace eccl
