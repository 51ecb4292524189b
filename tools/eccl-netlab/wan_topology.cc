#include "tools/eccl-netlab/wan_topology.h"

#include <string>

#include "tools/common/child_process.h"
#include "tools/eccl-netlab/delay_line_daemon.h"
#include "tools/eccl-netlab/lab_state.h"
#include "tools/eccl-netlab/system_command.h"

namespace eccl::tools::netlab {
namespace {

Status run(std::vector<std::string> argv) {
  auto done = runCommand(argv);
  return done ? Status::ok() : done.status();
}

}  // namespace

Result<pid_t> startDelayLine(const LabSpec& spec) {
  SpawnOptions options;
  options.argv = {"eccl-netlab", kDaemonSubcommand, "--spec", specToJson(spec)};
  options.program = kSelfExecutable;
  options.name = "eccl-netlab delay line";
  options.stdout_to = ChildOutput::kPipe;
  auto child = ChildProcess::spawn(options);
  if (!child) return child.status();
  // The first line comes from the detached grandchild: "ready PID" or "error ...".
  auto line = (*child)->readLine(std::chrono::seconds(15));
  // The parent of the daemon exits right after forking it.
  [[maybe_unused]] auto parent_exit = (*child)->wait(std::chrono::seconds(5));
  if (!line) return line.status().withContext("starting the delay line");
  if (line->rfind("ready ", 0) != 0) return systemError("delay line: " + *line);
  return static_cast<pid_t>(std::stol(line->substr(6)));
}

Status configureWanHosts(const LabSpec& spec) {
  for (int host = 0; host < spec.hosts; ++host) {
    const std::string ns = hostNamespace(spec.prefix, host);
    // Twice TUN's default queue: the kernel drops (does not wait) when it is
    // full, and a pump that lost its core for a moment should not cost packets.
    // Much longer would hide an overloaded delay line as extra round-trip time.
    ECCL_RETURN_IF_ERROR(run({"ip", "-n", ns, "link", "set", kTunDevice, "mtu",
                              std::to_string(spec.mtu), "txqueuelen", "1000", "up"}));
    ECCL_RETURN_IF_ERROR(
        run({"ip", "-n", ns, "addr", "add", hostAddress(host) + "/32", "dev", kTunDevice}));
    for (int peer = 0; peer < spec.hosts; ++peer) {
      if (peer == host) continue;
      ECCL_RETURN_IF_ERROR(run({"ip", "-n", ns, "route", "add", hostAddress(peer) + "/32", "dev",
                                kTunDevice, "src", hostAddress(host)}));
    }
  }
  return Status::ok();
}

}  // namespace eccl::tools::netlab
