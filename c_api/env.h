// Environment overrides of the C API's configs, and storage for the strings
// that ...ConfigInit hands out.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "src/common/status.h"

namespace eccl::capi {

// A copy of text that lives until the process exits. Equal texts share one
// copy, so repeated ConfigInit calls do not grow memory.
const char* intern(std::string_view text);

// The variable's value, or nothing when it is unset.
std::optional<std::string> envString(const char* name);

// Each leaves `out` alone when the variable is unset; a malformed value is
// kInvalidArgument naming the variable.
Status envUint32(const char* name, uint32_t& out);
// A decimal integer with an optional '-', in the int32_t range.
Status envInt32(const char* name, int32_t& out);
// "HOST:PORT" (or, with port_optional, "HOST" too); "" stores "" when empty_ok.
Status envAddress(const char* name, bool port_optional, bool empty_ok, const char*& out);
// Any non-empty text; "" stores nullptr when empty_is_null, else is an error.
Status envText(const char* name, bool empty_is_null, const char*& out);

}  // namespace eccl::capi
