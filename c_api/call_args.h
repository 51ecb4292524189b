// Conversions the C shims share: deadlines, enums, peer ids and op reports.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <string>

#include "c_api/handles.h"
#include "eccl/eccl.h"
#include "src/coll/coll_options.h"
#include "src/common/endpoint_id.h"
#include "src/common/status.h"
#include "src/reduce/reduce.h"

namespace eccl::capi {

// timeout_ms < 0: the comm's configured default. Longer than a year is taken
// as a year, so deadline arithmetic cannot overflow.
std::chrono::milliseconds timeoutOf(const ecclComm& comm, int64_t timeout_ms);

// A C caller may pass any int as an enum: read it as the int it is. By
// reference: copying an out-of-range value as the enum type is undefined in C++.
template <typename Enum>
int enumValue(const Enum& value) {
  int code;
  static_assert(sizeof(code) == sizeof(value));
  std::memcpy(&code, &value, sizeof(code));
  return code;
}

// kInvalidArgument naming `fn` for a value outside the enum.
Result<reduce::DType> dtypeOf(const ecclDataType_t& dtype, const char* fn);
// info may be NULL; else its struct_size must be valid.
Status checkOpInfo(const ecclOpInfo_t* info, const char* fn);
// Copies the report into info unless it is NULL.
void fillOpInfo(ecclOpInfo_t* info, const coll::OpInfo& stats);

EndpointId endpointOf(const ecclPeerId_t& id);
ecclPeerId_t peerIdOf(const EndpointId& id);

// The C kind of a comm's event (ecclCommPollEvent, the master's findings).
ecclEventKind_t toEventKind(comm::EventKind kind);
// Writes `from` (nullptr: ECCL_EVENT_NONE) into the fields event->struct_size
// covers, which must have been checked to cover the first version.
void fillEvent(const comm::Event* from, ecclEvent_t* event);

// Copies text into a fixed C array, cut to fit, always NUL-terminated.
template <size_t N>
void copyText(char (&into)[N], const std::string& text) {
  static_assert(N > 0);
  const size_t n = std::min(text.size(), N - 1);
  std::memcpy(into, text.data(), n);
  into[n] = '\0';
}

}  // namespace eccl::capi
