// ecclSyncSharedState: the C view of a shared state onto state::SharedState.
#include <cstring>

#include "c_api/call_args.h"
#include "c_api/errors.h"
#include "c_api/handle_checks.h"
#include "c_api/handles.h"
#include "c_api/state_entries.h"
#include "c_api/struct_size.h"
#include "eccl/eccl.h"
#include "src/state/shared_state.h"

namespace {

using eccl::invalidArgument;
using eccl::Result;
using eccl::Status;

constexpr const char* kSyncFn = "ecclSyncSharedState";
constexpr const char* kConnectFn = "ecclCommConnectWithState";
constexpr const char* kFetchFn = "ecclCommFetchGroupState";
constexpr size_t kStateMinSize = ECCL_CAPI_FIELD_END(ecclSharedState_t, nentries);
constexpr size_t kInfoMinSize = ECCL_CAPI_FIELD_END(ecclSyncInfo_t, wall_time_ns);

Result<eccl::state::SharedState> toSharedState(const ecclSharedState_t& in, const char* kFn) {
  auto entries = eccl::capi::toStateEntries(in.entries, in.nentries, kFn);
  if (!entries) return entries.status();
  eccl::state::SharedState out;
  out.revision = in.revision;
  out.entries = std::move(*entries);
  return out;
}

// The checks both functions make on their state and info arguments.
Status checkArgs(const char* fn, ecclComm_t comm, const ecclSharedState_t* state,
                 const ecclSyncInfo_t* info) {
  ECCL_RETURN_IF_ERROR(eccl::capi::checkComm(comm, fn));
  if (state == nullptr) return invalidArgument(std::string(fn) + ": state is NULL");
  if (Status size =
          eccl::capi::checkStructSize(state->struct_size, kStateMinSize, sizeof(ecclSharedState_t),
                                      std::string(fn) + ": state");
      !size.isOk()) {
    return size;
  }
  if (info != nullptr) {
    return eccl::capi::checkStructSize(info->struct_size, kInfoMinSize, sizeof(ecclSyncInfo_t),
                                       std::string(fn) + ": info");
  }
  return Status::ok();
}

void copyInfo(const eccl::state::SyncInfo& report, ecclSyncInfo_t* info) {
  if (info == nullptr) return;
  info->bytes_sent = report.bytes_sent;
  info->bytes_received = report.bytes_received;
  info->entries_fixed = report.entries_fixed;
  info->rounds = report.rounds;
  info->revision = report.revision;
  info->wall_time_ns = static_cast<uint64_t>(report.wall_time.count());
  if (ECCL_CAPI_HAS_FIELD(info, ecclSyncInfo_t, wire_bytes_received)) {
    info->wire_bytes_sent = report.wire_bytes_sent;
    info->wire_bytes_received = report.wire_bytes_received;
  }
}

}  // namespace

extern "C" {

ECCL_API ecclResult_t ecclSyncSharedState(ecclComm_t comm, ecclSharedState_t* state,
                                          ecclSyncStrategy_t strategy, int64_t timeout_ms,
                                          ecclSyncInfo_t* info) {
  return eccl::capi::guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(checkArgs(kSyncFn, comm, state, info));
    const int raw = eccl::capi::enumValue(strategy);
    if (raw < 0 || raw > eccl::state::kMaxStrategy) {
      return invalidArgument(std::string(kSyncFn) + ": unknown strategy " + std::to_string(raw));
    }
    auto shared = toSharedState(*state, kSyncFn);
    if (!shared) return shared.status();
    eccl::state::SyncInfo report;
    Status status =
        comm->impl->syncSharedState(*shared, static_cast<eccl::state::SyncStrategy>(raw),
                                    eccl::capi::timeoutOf(*comm, timeout_ms), &report);
    if (!status.isOk()) return status;
    state->revision = shared->revision;
    copyInfo(report, info);
    return Status::ok();
  });
}

ECCL_API ecclResult_t ecclCommConnectWithState(ecclComm_t comm, ecclSharedState_t* state,
                                               uint64_t fetch_bytes_per_s, int64_t timeout_ms,
                                               ecclSyncInfo_t* info) {
  return eccl::capi::guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(checkArgs(kConnectFn, comm, state, info));
    auto shared = toSharedState(*state, kConnectFn);
    if (!shared) return shared.status();
    eccl::state::SyncInfo report;
    Status status = comm->impl->connectWithState(*shared, fetch_bytes_per_s,
                                                 eccl::capi::timeoutOf(*comm, timeout_ms), &report);
    if (!status.isOk()) return status.withContext(kConnectFn);
    state->revision = shared->revision;
    copyInfo(report, info);
    return Status::ok();
  });
}

ECCL_API ecclResult_t ecclCommFetchGroupState(ecclComm_t comm, const char* group,
                                              ecclSharedState_t* state, uint64_t fetch_bytes_per_s,
                                              int64_t timeout_ms, ecclSyncInfo_t* info) {
  return eccl::capi::guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(checkArgs(kFetchFn, comm, state, info));
    if (group == nullptr) return invalidArgument(std::string(kFetchFn) + ": group is NULL");
    auto shared = toSharedState(*state, kFetchFn);
    if (!shared) return shared.status();
    eccl::state::SyncInfo report;
    Status status = comm->impl->fetchGroupState(group, *shared, fetch_bytes_per_s,
                                                eccl::capi::timeoutOf(*comm, timeout_ms), &report);
    if (!status.isOk()) return status.withContext(kFetchFn);
    state->revision = shared->revision;
    copyInfo(report, info);
    return Status::ok();
  });
}

}  // extern "C"
