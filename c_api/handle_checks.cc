#include "c_api/handle_checks.h"

#include <string>

namespace eccl::capi {

Status checkHandle(const ProcessOwned* handle, std::string_view fn, std::string_view kind) {
  if (handle == nullptr)
    return invalidArgument(std::string(fn) + ": " + std::string(kind) + " is NULL");
  if (!handle->inheritedThroughFork()) return Status::ok();
  return invalidUsage(std::string(fn) + ": this " + std::string(kind) + " was made by process " +
                      std::to_string(handle->creator) + ", and process " +
                      std::to_string(::getpid()) +
                      " is a fork() of it: a child cannot use its parent's handles (no thread "
                      "serves them here, and their connections are the parent's); a process "
                      "that is to take part should exec");
}

}  // namespace eccl::capi
