// The soak's eccl-master: a child process on 127.0.0.1 (or in host 0 of the
// soak's lab) with an ephemeral port, which it writes to a port file once it
// listens.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "src/common/status.h"
#include "tools/common/child_process.h"
#include "tools/eccl-bench/netlab_session.h"
#include "tools/eccl-stress/detection.h"

namespace eccl::tools::stress {

class MasterChild {
 public:
  // Logs (stderr) go to work_dir/master.log; extra_args follow the soak's own.
  static Result<std::unique_ptr<MasterChild>> start(const std::string& binary,
                                                    const std::string& work_dir,
                                                    const Detection& detection,
                                                    const std::vector<std::string>& extra_args,
                                                    const bench::NetlabSession* lab);

  std::string address() const { return host_ + ":" + std::to_string(port_); }
  ChildProcess& process() { return *child_; }
  const std::string& logPath() const { return log_path_; }

 private:
  MasterChild() = default;

  std::unique_ptr<ChildProcess> child_;
  std::string host_;
  uint16_t port_ = 0;
  std::string log_path_;
};

}  // namespace eccl::tools::stress
