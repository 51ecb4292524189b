#include "tools/eccl-netlab/lab_commands.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <thread>

#include "tools/common/child_process.h"
#include "tools/eccl-netlab/lab_state.h"
#include "tools/eccl-netlab/lan_topology.h"
#include "tools/eccl-netlab/namespaces.h"
#include "tools/eccl-netlab/process_info.h"
#include "tools/eccl-netlab/quantity_parse.h"
#include "tools/eccl-netlab/system_command.h"
#include "tools/eccl-netlab/wan_topology.h"

namespace eccl::tools::netlab {
namespace {

using std::chrono::milliseconds;

// A ping from h0 to each other host, retried: the bridge and the delay line
// need a moment before the first packet passes.
Status waitUntilReachable(const LabSpec& spec) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  for (int host = 1; host < spec.hosts; ++host) {
    while (true) {
      auto ping = runCommand(inNamespace(hostNamespace(spec.prefix, 0),
                                         {"ping", "-c", "1", "-W", "2", "-q", hostAddress(host)}));
      if (ping) break;
      if (std::chrono::steady_clock::now() > deadline) {
        return ping.status().withContext("the lab does not pass packets");
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
  }
  return Status::ok();
}

Status build(LabState& state) {
  const LabSpec& spec = state.spec;
  std::vector<std::string> wanted;
  for (int host = 0; host < spec.hosts; ++host)
    wanted.push_back(hostNamespace(spec.prefix, host));
  if (spec.mode() == LabMode::kLan) wanted.push_back(bridgeNamespace(spec.prefix));
  for (const std::string& name : wanted) {
    Status added = addNamespace(name);
    if (!added) {
      if (state.namespaces.empty()) {
        return unsupportedError("network namespaces unavailable: " + added.message());
      }
      return added;
    }
    state.namespaces.push_back(name);
    ECCL_RETURN_IF_ERROR(writeState(state));
    ECCL_RETURN_IF_ERROR(runCommand({"ip", "-n", name, "link", "set", "lo", "up"}).status());
  }
  if (spec.mode() == LabMode::kLan) return buildLan(spec);
  auto daemon = startDelayLine(spec);
  if (!daemon) return daemon.status();
  state.daemon_pid = *daemon;
  state.daemon_start_ticks = processStartTicks(*daemon).value_or(0);
  ECCL_RETURN_IF_ERROR(writeState(state));
  return configureWanHosts(spec);
}

// SIGTERM, then SIGKILL after a grace period; only if the pid is still the daemon.
void stopDaemon(pid_t pid, unsigned long long start_ticks) {
  if (!processIsAlive(pid, start_ticks)) return;
  kill(pid, SIGTERM);
  for (int i = 0; i < 50 && processIsAlive(pid, start_ticks); ++i)
    std::this_thread::sleep_for(milliseconds(20));
  if (processIsAlive(pid, start_ticks)) kill(pid, SIGKILL);
  for (int i = 0; i < 50 && processIsAlive(pid, start_ticks); ++i)
    std::this_thread::sleep_for(milliseconds(20));
}

// The daemon named by the pidfile ("PID STARTTICKS"), for when the state file is lost.
void stopDaemonFromPidfile(const std::string& prefix) {
  std::ifstream in(pidfilePath(prefix));
  pid_t pid = 0;
  unsigned long long start_ticks = 0;
  if (in >> pid >> start_ticks) stopDaemon(pid, start_ticks);
}

Result<LabState> readRunningLab(const std::string& prefix) {
  ECCL_RETURN_IF_ERROR(validatePrefix(prefix));
  return readState(prefix);
}

}  // namespace

Status checkPrivileges() {
  if (geteuid() != 0) return unsupportedError("eccl-netlab needs root (network namespaces, tc)");
  return Status::ok();
}

Status upLab(const LabSpec& spec, bool quiet) {
  ECCL_RETURN_IF_ERROR(validateSpec(spec));
  ECCL_RETURN_IF_ERROR(checkPrivileges());
  ECCL_RETURN_IF_ERROR(ensureStateDirectory());
  if (stateExists(spec.prefix)) {
    return invalidUsage("lab '" + spec.prefix + "' is already up (" + statePath(spec.prefix) +
                        "); run `eccl-netlab down --prefix " + spec.prefix + "` first");
  }
  for (const std::string& name : listNamespaces()) {
    if (isLabNamespace(spec.prefix, name)) {
      return invalidUsage("namespace " + name + " exists already; run `eccl-netlab down --prefix " +
                          spec.prefix + "` first");
    }
  }
  LabState state;
  state.spec = spec;
  ECCL_RETURN_IF_ERROR(writeState(state));
  Status built = build(state);
  if (built) built = waitUntilReachable(spec);
  if (!built) {
    Status undone = downLab(spec.prefix, /*quiet=*/true);
    if (!undone) std::fprintf(stderr, "eccl-netlab: cleanup: %s\n", undone.message().c_str());
    return built;
  }
  if (!quiet) {
    std::printf("lab %s up: %d hosts, %s, %s", spec.prefix.c_str(), spec.hosts,
                std::string(modeName(spec.mode())).c_str(), formatRate(spec.rate_bps).c_str());
    if (spec.mode() == LabMode::kWan)
      std::printf(", %s one-way, delay line pid %d", formatDuration(spec.delay).c_str(),
                  state.daemon_pid);
    std::printf("\n");
  }
  return Status::ok();
}

Status downLab(const std::string& prefix, bool quiet) {
  ECCL_RETURN_IF_ERROR(validatePrefix(prefix));
  ECCL_RETURN_IF_ERROR(checkPrivileges());
  auto state = readState(prefix);
  std::vector<std::string> doomed;
  if (state) {
    // The daemon first: its TUN fds hold the devices (and the namespaces) alive.
    stopDaemon(state->daemon_pid, state->daemon_start_ticks);
    doomed = state->namespaces;
  }
  stopDaemonFromPidfile(prefix);
  // Also the exact lab names without a state file (a crash), never anything else.
  for (const std::string& name : listNamespaces()) {
    if (isLabNamespace(prefix, name) &&
        std::find(doomed.begin(), doomed.end(), name) == doomed.end()) {
      doomed.push_back(name);
    }
  }
  Status result = Status::ok();
  for (const std::string& name : doomed) {
    Status deleted = deleteNamespace(name);
    if (!deleted && result) result = deleted;
  }
  if (!result) return result;
  for (const std::string& path : {statePath(prefix), pidfilePath(prefix), daemonLogPath(prefix)})
    unlink(path.c_str());
  if (!quiet) {
    std::printf(doomed.empty() ? "lab %s: nothing to remove\n" : "lab %s down\n", prefix.c_str());
  }
  return Status::ok();
}

Status showLab(const std::string& prefix) {
  auto state = readRunningLab(prefix);
  if (!state) return state.status();
  const LabSpec& spec = state->spec;
  std::printf("lab %s (%s)\n", spec.prefix.c_str(), statePath(spec.prefix).c_str());
  std::printf("mode: %s\nrate: %s per host and direction\n",
              std::string(modeName(spec.mode())).c_str(), formatRate(spec.rate_bps).c_str());
  if (spec.mode() == LabMode::kWan) {
    std::printf("delay: %s one-way (RTT %s)\nqueue: %llu bytes\nmtu: %d, gso: %s\n",
                formatDuration(spec.delay).c_str(), formatDuration(2 * spec.delay).c_str(),
                static_cast<unsigned long long>(queueLimitBytes(spec)), spec.mtu,
                spec.gso ? "on" : "off");
    const bool alive = processIsAlive(state->daemon_pid, state->daemon_start_ticks);
    std::printf("delay line: pid %d, %s (log %s)\n", state->daemon_pid,
                alive ? "alive" : "NOT RUNNING", daemonLogPath(spec.prefix).c_str());
  } else {
    std::printf("bridge: %s\nmtu: %d\n", bridgeNamespace(spec.prefix).c_str(), spec.mtu);
  }
  for (const SlowLink& link : spec.slow_links)
    std::printf("slow link: h%d <-> h%d at %s\n", link.host_a, link.host_b,
                formatRate(link.rate_bps).c_str());
  for (int host = 0; host < spec.hosts; ++host) {
    const std::string ns = hostNamespace(spec.prefix, host);
    std::printf("h%d  %-24s %s%s\n", host, ns.c_str(), hostAddress(host).c_str(),
                namespaceExists(ns) ? "" : "  (namespace missing)");
  }
  return Status::ok();
}

Status printHostAddress(const std::string& prefix, const std::string& host) {
  auto state = readRunningLab(prefix);
  if (!state) return state.status();
  auto index = parseHostReference(prefix, state->spec.hosts, host);
  if (!index) return index.status();
  std::printf("%s\n", hostAddress(*index).c_str());
  return Status::ok();
}

Status execInHost(const std::string& prefix, const std::string& host,
                  const std::vector<std::string>& command) {
  ECCL_RETURN_IF_ERROR(checkPrivileges());
  auto state = readRunningLab(prefix);
  if (!state) return state.status();
  auto index = parseHostReference(prefix, state->spec.hosts, host);
  if (!index) return index.status();
  if (command.empty()) return invalidArgument("exec: no command after --");
  const std::string ip = findOnPath("ip");
  if (ip.empty()) return unsupportedError("ip not found on PATH");
  std::vector<std::string> argv = inNamespace(hostNamespace(prefix, *index), command);
  std::vector<char*> raw;
  for (std::string& arg : argv)
    raw.push_back(arg.data());
  raw.push_back(nullptr);
  std::fflush(stdout);
  execv(ip.c_str(), raw.data());
  return systemError("exec " + ip + ": " + std::strerror(errno));
}

}  // namespace eccl::tools::netlab
