// ecclMaster*: a MasterServer behind a C handle.
#include <memory>

#include "c_api/errors.h"
#include "c_api/handle_checks.h"
#include "c_api/handles.h"
#include "c_api/init.h"
#include "c_api/options.h"
#include "eccl/eccl.h"

namespace {

using eccl::Status;
using eccl::capi::guarded;

}  // namespace

extern "C" {

ECCL_API ecclResult_t ecclMasterCreate(const ecclMasterConfig_t* config, ecclMaster_t* master) {
  return guarded([&]() -> Status {
    if (master == nullptr) return eccl::invalidArgument("ecclMasterCreate: master is NULL");
    *master = nullptr;
    if (config == nullptr) return eccl::invalidArgument("ecclMasterCreate: config is NULL");
    eccl::capi::ensureInit();
    auto options = eccl::capi::toMasterOptions(*config, "ecclMasterCreate");
    if (!options) return options.status();
    auto server = eccl::membership::MasterServer::create(std::move(*options));
    if (!server) return server.status().withContext("ecclMasterCreate");
    auto handle = std::make_unique<ecclMaster>();
    handle->server = std::move(*server);
    *master = handle.release();
    return Status::ok();
  });
}

ECCL_API ecclResult_t ecclMasterGetPort(ecclMaster_t master, uint16_t* port) {
  return guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(eccl::capi::checkMaster(master, "ecclMasterGetPort"));
    if (port == nullptr) return eccl::invalidArgument("ecclMasterGetPort: port is NULL");
    *port = master->server->port();
    return Status::ok();
  });
}

ECCL_API ecclResult_t ecclMasterRun(ecclMaster_t master) {
  return guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(eccl::capi::checkMaster(master, "ecclMasterRun"));
    eccl::capi::ensureInit();
    {
      std::lock_guard lock(master->mu);
      if (master->running) {
        return eccl::invalidUsage("ecclMasterRun: the master already runs on another thread");
      }
      master->running = true;
    }
    // Clears `running` however run() ends; notifies under the lock, so that a
    // Destroy waiting for it cannot free the handle before notify_all returns.
    struct Ended {
      ecclMaster* master;
      ~Ended() {
        std::lock_guard lock(master->mu);
        master->running = false;
        master->run_ended.notify_all();
      }
    };
    Status status;
    {
      Ended ended{master};
      status = master->server->run();
    }
    // The handle may be freed from here on: only the Status is used.
    return status.withContext("ecclMasterRun");
  });
}

ECCL_API ecclResult_t ecclMasterStop(ecclMaster_t master) {
  return guarded([&]() -> Status {
    ECCL_RETURN_IF_ERROR(eccl::capi::checkMaster(master, "ecclMasterStop"));
    master->server->stop();
    return Status::ok();
  });
}

ECCL_API ecclResult_t ecclMasterDestroy(ecclMaster_t master) {
  return guarded([&]() -> Status {
    if (master == nullptr || eccl::capi::isForkedCopy(master)) return Status::ok();
    std::unique_ptr<ecclMaster> owned(master);
    owned->server->stop();
    {
      std::unique_lock lock(owned->mu);
      owned->run_ended.wait(lock, [&] { return !owned->running; });
    }
    owned->server.reset();
    return Status::ok();
  });
}

}  // extern "C"
