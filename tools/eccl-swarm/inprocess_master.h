// A membership::MasterServer on its own thread in this process, whose CPU time
// can be read while it runs (the thread's own CPU clock).
#pragma once

#include <chrono>
#include <ctime>
#include <memory>
#include <thread>

#include "src/membership/master_server.h"

namespace eccl::tools::swarm {

class InprocessMaster {
 public:
  static Result<std::unique_ptr<InprocessMaster>> start(membership::MasterOptions options);
  ~InprocessMaster();  // stops the server and joins its thread

  uint16_t port() const { return server_->port(); }
  membership::MasterSnapshot snapshot() const { return server_->snapshot(); }
  // CPU time the master's thread has used so far.
  std::chrono::nanoseconds cpuTime() const;

 private:
  explicit InprocessMaster(std::unique_ptr<membership::MasterServer> server);

  std::unique_ptr<membership::MasterServer> server_;
  std::thread thread_;
  clockid_t cpu_clock_{};
  Status run_status_;
};

}  // namespace eccl::tools::swarm
