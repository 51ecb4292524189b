// What the multi-process benchmarks share: an in-process master for their
// worker processes, this executable's path to start them with, and the ring
// they form before measuring.
#pragma once

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "src/comm/communicator.h"
#include "src/common/status.h"
#include "src/membership/master_server.h"
#include "tools/common/child_process.h"

namespace eccl::tools::bench {

class NetlabSession;

// The master on its own thread, stopped and joined on destruction. In a lab
// it lives in host 0's namespace, on host 0's address.
class MasterThread {
 public:
  // state_link_bytes_per_s > 0: the master's MasterSettings::state_link_bytes_per_s.
  // tls: the master's certificates (null: none).
  static Result<std::unique_ptr<MasterThread>> start(
      const NetlabSession* lab, double state_link_bytes_per_s = 0,
      std::shared_ptr<const transport::tls::TlsContext> tls = nullptr);
  ~MasterThread();
  uint16_t port() const { return server_->port(); }

 private:
  MasterThread() = default;
  std::unique_ptr<membership::MasterServer> server_;
  std::thread thread_;
};

// This executable's path (a rank started through `ip netns exec` cannot use
// /proc/self/exe: that would name ip).
std::string selfPath();

// Run by every worker after connect(): the accepted peers update until all
// `peers` are in one ring (the others are admitted by those updates).
Status formRing(comm::Communicator& comm, int peers, std::chrono::milliseconds timeout);

// A worker's communicator in group "bench" (connections 0: the default);
// never outlives eccl-bench (PR_SET_PDEATHSIG). With `tls`, the master
// connection and every data channel use TLS. `transport`: ECCL_TRANSPORT's
// values (empty: the default).
Result<std::unique_ptr<comm::Communicator>> makeWorkerComm(
    const std::string& master_host, uint16_t master_port, const std::string& host, int connections,
    std::chrono::milliseconds timeout,
    std::shared_ptr<const transport::tls::TlsContext> tls = nullptr,
    const std::string& transport = "");

// Starts the children, reads each one's output to its end and reaps it: the
// outputs (a few lines each: reading the pipes in turn cannot fill one), or
// the first failure (a child that did not exit cleanly included).
Result<std::vector<std::string>> runChildren(std::vector<SpawnOptions> spawns,
                                             std::chrono::milliseconds timeout);

// The JSON lines of a child's output whose "bench" is `bench` (other lines skipped).
std::vector<nlohmann::json> benchRows(const std::string& output, const std::string& bench);

}  // namespace eccl::tools::bench
