#include "tools/eccl-swarm/inprocess_master.h"

#include <pthread.h>

#include <cstring>

#include "src/common/log.h"

namespace eccl::tools::swarm {

Result<std::unique_ptr<InprocessMaster>> InprocessMaster::start(membership::MasterOptions options) {
  auto server = membership::MasterServer::create(std::move(options));
  if (!server) return server.status();
  std::unique_ptr<InprocessMaster> master(new InprocessMaster(std::move(*server)));
  if (int rc = pthread_getcpuclockid(master->thread_.native_handle(), &master->cpu_clock_);
      rc != 0) {
    return systemError(std::string("pthread_getcpuclockid: ") + std::strerror(rc));
  }
  return master;
}

InprocessMaster::InprocessMaster(std::unique_ptr<membership::MasterServer> server)
    : server_(std::move(server)) {
  thread_ = std::thread([this] {
    run_status_ = server_->run();
    if (!run_status_.isOk()) ECCL_LOG_ERROR("master: {}", run_status_.toString());
  });
}

InprocessMaster::~InprocessMaster() {
  server_->stop();
  thread_.join();
}

std::chrono::nanoseconds InprocessMaster::cpuTime() const {
  timespec ts{};
  if (clock_gettime(cpu_clock_, &ts) != 0) return std::chrono::nanoseconds(0);
  return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
}

}  // namespace eccl::tools::swarm
