#include "c_api/errors.h"

#include <cstring>
#include <string>

namespace eccl::capi {
namespace {
thread_local std::string t_last_error;
}

ecclResult_t toResult(Code code) {
  switch (code) {
    case Code::kOk:
      return ecclSuccess;
    case Code::kInvalidArgument:
      return ecclInvalidArgument;
    case Code::kInvalidUsage:
      return ecclInvalidUsage;
    case Code::kSystemError:
      return ecclSystemError;
    case Code::kInternalError:
      return ecclInternalError;
    case Code::kConnectionError:
      return ecclConnectionError;
    case Code::kProtocolError:
      return ecclProtocolError;
    case Code::kTimeout:
      return ecclTimeout;
    case Code::kPeerLost:
      return ecclPeerLost;
    case Code::kAborted:
      return ecclAborted;
    case Code::kOutOfMemory:
      return ecclOutOfMemory;
    case Code::kUnsupported:
      return ecclUnsupported;
    case Code::kAuthError:
      return ecclAuthError;
  }
  return ecclInternalError;
}

ecclResult_t report(const Status& status) {
  if (!status.isOk()) t_last_error = status.message();
  return toResult(status.code());
}

}  // namespace eccl::capi

extern "C" {

ECCL_API const char* ecclGetErrorString(ecclResult_t result) {
  // A C caller may pass any int; in C++ an out-of-range enum value must not be
  // read as the enum, so the value is taken as the int it is.
  int code;
  static_assert(sizeof(code) == sizeof(result));
  std::memcpy(&code, &result, sizeof(code));
  switch (code) {
    case ecclSuccess:
      return "ecclSuccess: no error";
    case ecclInvalidArgument:
      return "ecclInvalidArgument: an argument is unusable";
    case ecclInvalidUsage:
      return "ecclInvalidUsage: call in the wrong state or peers disagree";
    case ecclSystemError:
      return "ecclSystemError: the operating system refused a request";
    case ecclInternalError:
      return "ecclInternalError: internal invariant broken";
    case ecclConnectionError:
      return "ecclConnectionError: a connection failed or timed out";
    case ecclProtocolError:
      return "ecclProtocolError: a peer sent invalid protocol data";
    case ecclTimeout:
      return "ecclTimeout: a deadline passed";
    case ecclPeerLost:
      return "ecclPeerLost: a peer of the group is gone";
    case ecclAborted:
      return "ecclAborted: the operation was cancelled";
    case ecclOutOfMemory:
      return "ecclOutOfMemory: out of memory";
    case ecclUnsupported:
      return "ecclUnsupported: not supported by this build or peer";
    case ecclAuthError:
      return "ecclAuthError: authentication failed (cluster secret or certificate)";
    case ecclNumResults:
      break;
  }
  return "unknown ecclResult_t value";
}

ECCL_API const char* ecclGetLastError(void) {
  return eccl::capi::t_last_error.c_str();
}

}  // extern "C"
