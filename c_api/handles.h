// What the C API's opaque handles point to. The tags are the C header's
// (struct ecclMaster, struct ecclComm), so they live in the global namespace.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>

#include "src/comm/communicator.h"
#include "src/diloco/outer_loop.h"
#include "src/membership/master_server.h"

struct ecclMaster {
  std::unique_ptr<eccl::membership::MasterServer> server;
  // Lets ecclMasterDestroy wait for a Run on another thread to return.
  std::mutex mu;
  std::condition_variable run_ended;
  bool running = false;
};

struct ecclComm {
  std::unique_ptr<eccl::comm::Communicator> impl;
};

struct ecclRequest {
  std::shared_ptr<eccl::comm::Request> impl;  // outlives the comm if need be
};

struct ecclDiloco {
  std::unique_ptr<eccl::diloco::OuterLoop> impl;
};
