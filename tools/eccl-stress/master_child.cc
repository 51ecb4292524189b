#include "tools/eccl-stress/master_child.h"

#include "tools/common/port_file.h"

namespace eccl::tools::stress {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(10);

}  // namespace

Result<std::unique_ptr<MasterChild>> MasterChild::start(const std::string& binary,
                                                        const std::string& work_dir,
                                                        const Detection& detection,
                                                        const std::vector<std::string>& extra_args,
                                                        const bench::NetlabSession* lab) {
  std::unique_ptr<MasterChild> master(new MasterChild);
  const std::string port_file = work_dir + "/master.port";
  master->log_path_ = work_dir + "/master.log";
  master->host_ = lab != nullptr ? lab->addressOf(0) : "127.0.0.1";
  std::vector<std::string> argv = {binary,
                                   "--listen",
                                   master->host_ + ":0",
                                   "--port-file",
                                   port_file,
                                   "--heartbeat-ms",
                                   std::to_string(detection.heartbeat.count()),
                                   "--miss-limit",
                                   std::to_string(detection.miss_limit),
                                   "--log-level",
                                   "warn"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  if (lab != nullptr) argv = lab->inside(0, std::move(argv));
  auto child = ChildProcess::spawn({
      .argv = std::move(argv),
      .name = "eccl-master",
      .stdout_to = ChildOutput::kDevNull,
      .stderr_to = ChildOutput::kFile,
      .output_file = master->log_path_,
  });
  if (!child) return child.status();
  master->child_ = std::move(*child);
  // The port file appears (renamed into place whole) once the socket listens.
  const auto until = std::chrono::steady_clock::now() + kStartTimeout;
  while (true) {
    if (auto port = readPortFile(port_file, std::chrono::milliseconds(20))) {
      master->port_ = *port;
      return master;
    }
    if (master->child_->hasExited()) {
      return internalError("eccl-master " +
                           ChildProcess::describeExit(master->child_->waitStatus()) + " (see " +
                           master->log_path_ + ")");
    }
    if (std::chrono::steady_clock::now() >= until) {
      return timeoutError("eccl-master wrote no port file within 10 s");
    }
  }
}

}  // namespace eccl::tools::stress
