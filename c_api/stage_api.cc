// Pipeline stages: a stage's metric reports, the master's view of a stage, and
// a recovering stage's announcement that it holds its weights again.
#include <cstring>
#include <string>

#include "c_api/call_args.h"
#include "c_api/errors.h"
#include "c_api/handle_checks.h"
#include "c_api/handles.h"
#include "c_api/struct_size.h"
#include "eccl/eccl.h"

namespace {

using eccl::Status;
using eccl::capi::guarded;

static_assert(sizeof(ecclStageInfo_t::group) == eccl::protocol::kMaxGroupName + 1);

ecclStageState_t toStageState(eccl::protocol::StageState state) {
  switch (state) {
    case eccl::protocol::StageState::kActive:
      return ECCL_STAGE_ACTIVE;
    case eccl::protocol::StageState::kLost:
      return ECCL_STAGE_LOST;
    case eccl::protocol::StageState::kRecovering:
      return ECCL_STAGE_RECOVERING;
    case eccl::protocol::StageState::kUnknown:
      break;
  }
  return ECCL_STAGE_UNKNOWN;
}

void fillStageInfo(const eccl::protocol::StageInfo& from, ecclStageInfo_t& to) {
  to.stage = static_cast<int32_t>(from.stage);
  to.state = toStageState(from.state);
  std::memset(to.group, 0, sizeof(to.group));
  std::memcpy(to.group, from.group.data(), from.group.size());  // at most kMaxGroupName
  to.accepted = static_cast<int32_t>(from.accepted);
  to.has_metric = from.has_metric ? 1 : 0;
  to.metric_round = from.metric_round;
  to.metric = from.metric;
  to.metric_peer = eccl::capi::peerIdOf(from.metric_peer);
}

}  // namespace

extern "C" {

ECCL_API ecclResult_t ecclCommReportMetric(ecclComm_t comm, uint64_t round, double value) {
  return guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(eccl::capi::checkComm(comm, "ecclCommReportMetric"));
    return comm->impl->reportMetric(round, value).withContext("ecclCommReportMetric");
  });
}

ECCL_API ecclResult_t ecclCommGetStageInfo(ecclComm_t comm, int32_t stage, ecclStageInfo_t* info,
                                           int64_t timeout_ms) {
  return guarded([&]() -> Status {
    const char* fn = "ecclCommGetStageInfo";
    ECCL_RETURN_IF_ERROR(eccl::capi::checkComm(comm, fn));
    if (info == nullptr) return eccl::invalidArgument(std::string(fn) + ": info is NULL");
    ECCL_RETURN_IF_ERROR(eccl::capi::checkStructSize(info->struct_size, sizeof(ecclStageInfo_t),
                                                     sizeof(ecclStageInfo_t),
                                                     std::string(fn) + ": info"));
    if (stage < 0 || stage >= static_cast<int32_t>(eccl::protocol::kMaxStages)) {
      return eccl::invalidArgument(std::string(fn) + ": stage must be 0.." +
                                   std::to_string(eccl::protocol::kMaxStages - 1) + ", got " +
                                   std::to_string(stage));
    }
    auto answer = comm->impl->stageInfo(static_cast<uint32_t>(stage),
                                        eccl::capi::timeoutOf(*comm, timeout_ms));
    if (!answer) return answer.status().withContext(fn);
    fillStageInfo(*answer, *info);
    return Status::ok();
  });
}

ECCL_API ecclResult_t ecclCommAnnounceStageRecovered(ecclComm_t comm, uint64_t round,
                                                     int64_t timeout_ms, ecclStageInfo_t* info) {
  return guarded([&]() -> Status {
    const char* fn = "ecclCommAnnounceStageRecovered";
    ECCL_RETURN_IF_ERROR(eccl::capi::checkComm(comm, fn));
    if (info != nullptr) {
      ECCL_RETURN_IF_ERROR(eccl::capi::checkStructSize(info->struct_size, sizeof(ecclStageInfo_t),
                                                       sizeof(ecclStageInfo_t),
                                                       std::string(fn) + ": info"));
    }
    auto answer =
        comm->impl->announceStageRecovered(round, eccl::capi::timeoutOf(*comm, timeout_ms));
    if (!answer) return answer.status().withContext(fn);
    if (info != nullptr) fillStageInfo(*answer, *info);
    return Status::ok();
  });
}

}  // extern "C"
