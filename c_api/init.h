// Library initialisation shared by every entry point.
#pragma once

namespace eccl::capi {

// Reads ECCL_LOG once per process (thread-safe); every API function that
// creates or uses a handle calls it, so ecclInit is optional for callers.
void ensureInit();

}  // namespace eccl::capi
