// What the C API's opaque handles point to. The tags are the C header's
// (struct ecclMaster, struct ecclComm), so they live in the global namespace.
#pragma once

#include <sys/types.h>
#include <unistd.h>

#include <condition_variable>
#include <memory>
#include <mutex>

#include "src/comm/communicator.h"
#include "src/diloco/outer_loop.h"
#include "src/membership/master_server.h"

namespace eccl::capi {

// The process that made a handle. A fork()ed child inherits its parent's
// handles but none of the threads behind them, and shares their sockets and
// shared-memory segments with the parent: handle_checks.h refuses them there.
struct ProcessOwned {
  pid_t creator = ::getpid();
  bool inheritedThroughFork() const { return ::getpid() != creator; }
};

}  // namespace eccl::capi

struct ecclMaster : eccl::capi::ProcessOwned {
  std::unique_ptr<eccl::membership::MasterServer> server;
  // Lets ecclMasterDestroy wait for a Run on another thread to return.
  std::mutex mu;
  std::condition_variable run_ended;
  bool running = false;
};

struct ecclComm : eccl::capi::ProcessOwned {
  std::unique_ptr<eccl::comm::Communicator> impl;
};

struct ecclRequest : eccl::capi::ProcessOwned {
  std::shared_ptr<eccl::comm::Request> impl;  // outlives the comm if need be
};

struct ecclDiloco : eccl::capi::ProcessOwned {
  std::unique_ptr<eccl::diloco::OuterLoop> impl;
};
