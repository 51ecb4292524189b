// ecclDiloco*: the C view of diloco::OuterLoop.
#include "c_api/call_args.h"
#include "c_api/errors.h"
#include "c_api/handle_checks.h"
#include "c_api/handles.h"
#include "c_api/state_entries.h"
#include "c_api/struct_size.h"
#include "eccl/eccl.h"

namespace {

using eccl::invalidArgument;
using eccl::Result;
using eccl::Status;
using eccl::capi::guarded;

constexpr uint64_t kDefaultTag = 0x44694c6fu;  // "DiLo"
constexpr size_t kConfigMinSize = ECCL_CAPI_FIELD_END(ecclDilocoConfig_t, state_revision);
constexpr size_t kInfoMinSize = ECCL_CAPI_FIELD_END(ecclDilocoInfo_t, wall_time_ns);

ecclDilocoConfig_t defaults() {
  ecclDilocoConfig_t config{};
  config.struct_size = sizeof(ecclDilocoConfig_t);
  config.outer_lr = 0.7f;
  config.outer_momentum = 0.9f;
  config.mode = ecclDilocoSync;
  config.tag = kDefaultTag;
  config.timeout_ms = -1;
  config.max_attempts = 4;
  config.extra_state = nullptr;
  config.nextra = 0;
  config.state_revision = 0;
  return config;
}

Result<eccl::diloco::OuterOptions> toOptions(const ecclComm& comm, const ecclDilocoConfig_t& config,
                                             const char* fn) {
  ECCL_RETURN_IF_ERROR(eccl::capi::checkStructSize(config.struct_size, kConfigMinSize,
                                                   sizeof(ecclDilocoConfig_t),
                                                   std::string(fn) + ": config"));
  eccl::diloco::OuterOptions options;
  options.lr = config.outer_lr;
  options.momentum = config.outer_momentum;
  const int mode = eccl::capi::enumValue(config.mode);
  if (mode != ecclDilocoSync && mode != ecclDilocoAsync) {
    return invalidArgument(std::string(fn) + ": unknown mode " + std::to_string(mode));
  }
  options.mode = static_cast<eccl::diloco::Mode>(mode);
  if (config.tag >= (uint64_t{1} << 32)) {
    return invalidArgument(std::string(fn) + ": tag " + std::to_string(config.tag) +
                           " is not below 2^32");
  }
  options.tag = config.tag;
  options.timeout = eccl::capi::timeoutOf(comm, config.timeout_ms);
  options.max_attempts = config.max_attempts;
  auto extra = eccl::capi::toStateEntries(config.extra_state, config.nextra, fn);
  if (!extra) return extra.status();
  options.extra_state = std::move(*extra);
  options.state_revision = config.state_revision;
  return options;
}

using Starter = Result<std::unique_ptr<eccl::diloco::OuterLoop>> (*)(
    eccl::comm::Communicator&, std::vector<eccl::diloco::Param>, eccl::reduce::DType,
    eccl::diloco::OuterOptions);

Status create(const char* fn, Starter starter, ecclComm_t comm, const ecclDilocoParam_t* params,
              size_t nparams, ecclDataType_t dtype, const ecclDilocoConfig_t* config,
              ecclDiloco_t* diloco) {
  if (diloco == nullptr) return invalidArgument(std::string(fn) + ": diloco is NULL");
  *diloco = nullptr;
  ECCL_RETURN_IF_ERROR(eccl::capi::checkComm(comm, fn));
  if (config == nullptr) return invalidArgument(std::string(fn) + ": config is NULL");
  if (params == nullptr && nparams > 0) {
    return invalidArgument(std::string(fn) + ": params is NULL");
  }
  auto type = eccl::capi::dtypeOf(dtype, fn);
  if (!type) return type.status();
  auto options = toOptions(*comm, *config, fn);
  if (!options) return options.status();
  std::vector<eccl::diloco::Param> list;
  list.reserve(nparams);
  for (size_t i = 0; i < nparams; ++i)
    list.push_back({params[i].data, params[i].count});
  auto loop = starter(*comm->impl, std::move(list), *type, std::move(*options));
  if (!loop) return loop.status().withContext(fn);
  auto handle = std::make_unique<ecclDiloco>();
  handle->impl = std::move(*loop);
  *diloco = handle.release();
  return Status::ok();
}

Status checkInfo(const ecclDilocoInfo_t* info, const char* fn) {
  if (info == nullptr) return Status::ok();
  return eccl::capi::checkStructSize(info->struct_size, kInfoMinSize, sizeof(ecclDilocoInfo_t),
                                     std::string(fn) + ": info");
}

void fillInfo(const eccl::diloco::StepReport& report, ecclDilocoInfo_t* info) {
  if (info == nullptr) return;
  info->round = report.round;
  info->applied = report.applied;
  info->contributors = report.contributors;
  info->attempts = report.attempts;
  info->synced = report.synced ? 1 : 0;
  info->blocked_ns = static_cast<uint64_t>(report.blocked.count());
  info->wall_time_ns = static_cast<uint64_t>(report.wall_time.count());
  if (ECCL_CAPI_HAS_FIELD(info, ecclDilocoInfo_t, state_revision)) {
    info->state_revision = report.state_revision;
  }
}

// ecclDilocoStep and ecclDilocoFlush: the loop's call, its report copied out.
Status boundary(const char* fn, Status (eccl::diloco::OuterLoop::*call)(eccl::diloco::StepReport*),
                ecclDiloco_t diloco, ecclDilocoInfo_t* info) {
  ECCL_RETURN_IF_ERROR(eccl::capi::checkDiloco(diloco, fn));
  ECCL_RETURN_IF_ERROR(checkInfo(info, fn));
  eccl::diloco::StepReport report;
  Status status = (diloco->impl.get()->*call)(&report);
  fillInfo(report, info);
  return status.withContext(fn);
}

}  // namespace

extern "C" {

ECCL_API ecclResult_t ecclDilocoConfigInit(ecclDilocoConfig_t* config) {
  return guarded([&]() -> Status {
    if (config == nullptr) return invalidArgument("ecclDilocoConfigInit: config is NULL");
    *config = defaults();
    return Status::ok();
  });
}

ECCL_API ecclResult_t ecclDilocoCreate(ecclComm_t comm, const ecclDilocoParam_t* params,
                                       size_t nparams, ecclDataType_t dtype,
                                       const ecclDilocoConfig_t* config, ecclDiloco_t* diloco) {
  return guarded([&] {
    return create("ecclDilocoCreate", &eccl::diloco::OuterLoop::start, comm, params, nparams, dtype,
                  config, diloco);
  });
}

ECCL_API ecclResult_t ecclDilocoJoin(ecclComm_t comm, const ecclDilocoParam_t* params,
                                     size_t nparams, ecclDataType_t dtype,
                                     const ecclDilocoConfig_t* config, ecclDiloco_t* diloco) {
  return guarded([&] {
    return create("ecclDilocoJoin", &eccl::diloco::OuterLoop::join, comm, params, nparams, dtype,
                  config, diloco);
  });
}

ECCL_API ecclResult_t ecclDilocoStep(ecclDiloco_t diloco, ecclDilocoInfo_t* info) {
  return guarded(
      [&] { return boundary("ecclDilocoStep", &eccl::diloco::OuterLoop::step, diloco, info); });
}

ECCL_API ecclResult_t ecclDilocoFlush(ecclDiloco_t diloco, ecclDilocoInfo_t* info) {
  return guarded(
      [&] { return boundary("ecclDilocoFlush", &eccl::diloco::OuterLoop::flush, diloco, info); });
}

ECCL_API ecclResult_t ecclDilocoRounds(ecclDiloco_t diloco, uint64_t* launched, uint64_t* applied) {
  return guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(eccl::capi::checkDiloco(diloco, "ecclDilocoRounds"));
    if (launched != nullptr) *launched = diloco->impl->launched();
    if (applied != nullptr) *applied = diloco->impl->applied();
    return Status::ok();
  });
}

ECCL_API ecclResult_t ecclDilocoDestroy(ecclDiloco_t diloco) {
  return guarded([&]() -> Status {
    if (eccl::capi::isForkedCopy(diloco)) return Status::ok();
    delete diloco;
    return Status::ok();
  });
}

}  // extern "C"
