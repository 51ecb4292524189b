// Maps internal Status values to ecclResult_t and keeps the per-thread
// last-error text that ecclGetLastError() returns.
#pragma once

#include <exception>
#include <new>
#include <string>

#include "eccl/eccl.h"
#include "src/common/status.h"

namespace eccl::capi {

ecclResult_t toResult(Code code);

// Records status as this thread's last error (if it failed) and returns its code.
ecclResult_t report(const Status& status);

// Runs fn (returning Status), turning any escaping C++ exception into an error code:
// no exception crosses the C boundary.
template <typename Fn>
ecclResult_t guarded(Fn&& fn) noexcept {
  try {
    return report(fn());
  } catch (const std::bad_alloc&) {
    return report(Status(Code::kOutOfMemory, "out of memory"));
  } catch (const std::exception& e) {
    return report(internalError(std::string("unexpected exception: ") + e.what()));
  } catch (...) {
    return report(internalError("unexpected non-standard exception"));
  }
}

}  // namespace eccl::capi
