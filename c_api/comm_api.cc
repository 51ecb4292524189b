// ecclComm* life cycle and blocking calls: a Communicator behind a C handle.
#include <memory>

#include "c_api/call_args.h"
#include "c_api/errors.h"
#include "c_api/handle_checks.h"
#include "c_api/handles.h"
#include "c_api/init.h"
#include "c_api/options.h"
#include "eccl/eccl.h"

namespace {

using eccl::Status;
using eccl::capi::guarded;

using eccl::capi::timeoutOf;

}  // namespace

extern "C" {

ECCL_API ecclResult_t ecclCommCreate(const ecclCommConfig_t* config, ecclComm_t* comm) {
  return guarded([&]() -> Status {
    if (comm == nullptr) return eccl::invalidArgument("ecclCommCreate: comm is NULL");
    *comm = nullptr;
    if (config == nullptr) return eccl::invalidArgument("ecclCommCreate: config is NULL");
    eccl::capi::ensureInit();
    auto options = eccl::capi::toCommOptions(*config, "ecclCommCreate");
    if (!options) return options.status();
    auto created = eccl::comm::Communicator::create(std::move(*options));
    if (!created) return created.status().withContext("ecclCommCreate");
    auto handle = std::make_unique<ecclComm>();
    handle->impl = std::move(*created);
    *comm = handle.release();
    return Status::ok();
  });
}

ECCL_API ecclResult_t ecclCommConnect(ecclComm_t comm, int64_t timeout_ms) {
  return guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(eccl::capi::checkComm(comm, "ecclCommConnect"));
    return comm->impl->connect(timeoutOf(*comm, timeout_ms)).withContext("ecclCommConnect");
  });
}

ECCL_API ecclResult_t ecclCommUpdateTopology(ecclComm_t comm, int64_t timeout_ms) {
  return guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(eccl::capi::checkComm(comm, "ecclCommUpdateTopology"));
    return comm->impl->updateTopology(timeoutOf(*comm, timeout_ms))
        .withContext("ecclCommUpdateTopology");
  });
}

ECCL_API ecclResult_t ecclCommAbort(ecclComm_t comm) {
  return guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(eccl::capi::checkComm(comm, "ecclCommAbort"));
    comm->impl->abort("ecclCommAbort was called");
    return Status::ok();
  });
}

ECCL_API ecclResult_t ecclCommDestroy(ecclComm_t comm) {
  return guarded([&]() -> Status {
    if (comm == nullptr || eccl::capi::isForkedCopy(comm)) return Status::ok();
    // Its destructor would wait for the callback to return: forever.
    if (comm->impl->onEventThread()) {
      return eccl::invalidUsage("ecclCommDestroy: called from the comm's own event callback");
    }
    delete comm;  // ~Communicator leaves the group gracefully
    return Status::ok();
  });
}

}  // extern "C"
