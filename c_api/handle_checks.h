// The check every C call makes on the handle it is given: not NULL, and made
// by the calling process.
//
// After fork() the child holds copies of its parent's handles, but the threads
// that serve them (I/O, heartbeats, the event thread) stayed in the parent,
// and their sockets and shared-memory rings are the parent's too. A call there
// would wait for threads that do not exist, or write on the parent's
// connections (a leave, a shutdown) and break it. So every call on such a
// handle fails with ecclInvalidUsage at once, and Destroy/Free forgets it
// without running any of its destructors (isForkedCopy).
#pragma once

#include <string_view>

#include "c_api/handles.h"
#include "src/common/status.h"

namespace eccl::capi {

// ok, or invalidArgument (NULL) / invalidUsage (made by another process),
// naming `fn` and the handle's `kind` ("comm", "master", ...).
Status checkHandle(const ProcessOwned* handle, std::string_view fn, std::string_view kind);

inline Status checkComm(const ecclComm* comm, std::string_view fn) {
  return checkHandle(comm, fn, "comm");
}
inline Status checkMaster(const ecclMaster* master, std::string_view fn) {
  return checkHandle(master, fn, "master");
}
inline Status checkRequest(const ecclRequest* request, std::string_view fn) {
  return checkHandle(request, fn, "request");
}
inline Status checkDiloco(const ecclDiloco* diloco, std::string_view fn) {
  return checkHandle(diloco, fn, "diloco");
}

// True for a fork()ed child's copy of its parent's handle: Destroy and Free
// then only drop it (the child's memory goes when it exits).
inline bool isForkedCopy(const ProcessOwned* handle) {
  return handle != nullptr && handle->inheritedThroughFork();
}

}  // namespace eccl::capi
