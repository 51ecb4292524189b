#include "tools/eccl-netlab/selftest.h"

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>

#include "tools/common/child_process.h"
#include "tools/eccl-netlab/lab_commands.h"
#include "tools/eccl-netlab/lab_state.h"
#include "tools/eccl-netlab/process_info.h"
#include "tools/eccl-netlab/quantity_parse.h"
#include "tools/eccl-netlab/system_command.h"

namespace eccl::tools::netlab {
namespace {

using std::chrono::seconds;
constexpr const char* kIperfPort = "5201";

struct DirectionResult {
  double bits_per_second = 0;
};

Result<std::unique_ptr<ChildProcess>> spawnInHost(const LabSpec& spec, int host,
                                                  std::vector<std::string> argv) {
  SpawnOptions options;
  options.argv = inNamespace(hostNamespace(spec.prefix, host), std::move(argv));
  options.program = findOnPath("ip");
  options.stdout_to = ChildOutput::kPipe;
  options.stderr_to = ChildOutput::kDevNull;
  return ChildProcess::spawn(options);
}

// A one-shot server; returns once it listens.
Result<std::unique_ptr<ChildProcess>> startServer(const LabSpec& spec, int host) {
  auto server = spawnInHost(spec, host, {"iperf3", "-s", "-1", "-p", kIperfPort, "--forceflush"});
  if (!server) return server;
  while (true) {
    auto line = (*server)->readLine(seconds(10));
    if (!line) return line.status().withContext("iperf3 server in h" + std::to_string(host));
    if (line->find("Server listening") != std::string::npos) return server;
  }
}

Result<double> receivedBitsPerSecond(const std::string& json_text) {
  try {
    const auto report = nlohmann::json::parse(json_text);
    if (report.contains("error"))
      return systemError("iperf3: " + report["error"].get<std::string>());
    return report.at("end").at("sum_received").at("bits_per_second").get<double>();
  } catch (const nlohmann::json::exception& error) {
    return systemError(std::string("iperf3 report: ") + error.what());
  }
}

// Both directions at once: h0 -> h1 and h1 -> h0, `streams` TCP streams each.
Result<std::pair<double, double>> measureBothWays(const LabSpec& spec, int streams, int duration) {
  auto server1 = startServer(spec, 1);
  if (!server1) return server1.status();
  auto server0 = startServer(spec, 0);
  if (!server0) return server0.status();
  auto client_argv = [&](int peer) {
    return std::vector<std::string>{"iperf3",
                                    "-c",
                                    hostAddress(peer),
                                    "-p",
                                    kIperfPort,
                                    "-t",
                                    std::to_string(duration),
                                    "-P",
                                    std::to_string(streams),
                                    "-J"};
  };
  auto forward = spawnInHost(spec, 0, client_argv(1));
  if (!forward) return forward.status();
  auto backward = spawnInHost(spec, 1, client_argv(0));
  if (!backward) return backward.status();
  const auto limit = seconds(duration + 30);
  auto forward_json = (*forward)->readAll(limit);
  auto backward_json = (*backward)->readAll(limit);
  if (!forward_json) return forward_json.status();
  if (!backward_json) return backward_json.status();
  auto forward_bps = receivedBitsPerSecond(*forward_json);
  if (!forward_bps) return forward_bps.status().withContext("h0 -> h1");
  auto backward_bps = receivedBitsPerSecond(*backward_json);
  if (!backward_bps) return backward_bps.status().withContext("h1 -> h0");
  for (auto* child : {forward->get(), backward->get(), server1->get(), server0->get()})
    child->stop(seconds(2));
  return std::pair{*forward_bps, *backward_bps};
}

int runOnLab(const SelftestOptions& options, LabSpec spec) {
  const Status up = upLab(spec, /*quiet=*/true);
  if (!up) {
    std::fprintf(stderr, "eccl-netlab selftest: %s\n", up.message().c_str());
    return up.code() == Code::kUnsupported ? 2 : 1;
  }
  int exit_code = 0;
  auto state = readState(spec.prefix);
  const pid_t daemon = state ? state->daemon_pid : 0;
  std::printf("%s lab, %s per direction", std::string(modeName(spec.mode())).c_str(),
              formatRate(spec.rate_bps).c_str());
  if (spec.mode() == LabMode::kWan)
    std::printf(", %s one-way (RTT %s), MTU %d, GSO %s", formatDuration(spec.delay).c_str(),
                formatDuration(2 * spec.delay).c_str(), spec.mtu, spec.gso ? "on" : "off");
  std::printf(", iperf3 %d s both directions at once\n", options.seconds);
  std::printf("  streams   h0->h1 Gbit/s       h1->h0 Gbit/s       delay line CPU s (cores)\n");
  const double rate_gbit = static_cast<double>(spec.rate_bps) / 1e9;
  for (int streams : options.streams) {
    const double cpu_before = daemon > 0 ? processCpuSeconds(daemon).value_or(0) : 0;
    auto result = measureBothWays(spec, streams, options.seconds);
    const double cpu = daemon > 0 ? processCpuSeconds(daemon).value_or(0) - cpu_before : 0;
    if (!result) {
      std::printf("  %-7d   failed: %s\n", streams, result.status().message().c_str());
      exit_code = 1;
      continue;
    }
    const double forward = result->first / 1e9;
    const double backward = result->second / 1e9;
    std::printf("  %-7d   %6.3f (%5.1f %%)    %6.3f (%5.1f %%)    ", streams, forward,
                100 * forward / rate_gbit, backward, 100 * backward / rate_gbit);
    if (daemon > 0) {
      std::printf("%.2f (%.2f)\n", cpu, cpu / options.seconds);
    } else {
      std::printf("-\n");
    }
    std::fflush(stdout);
  }
  const Status down = downLab(spec.prefix, /*quiet=*/true);
  if (!down) {
    std::fprintf(stderr, "eccl-netlab selftest: down: %s\n", down.message().c_str());
    exit_code = 1;
  }
  return exit_code;
}

}  // namespace

int runCeiling(const std::string& prefix, int streams, int seconds, bool json) {
  auto state = readState(prefix);
  if (!state) {
    std::fprintf(stderr, "eccl-netlab ceiling: %s\n", state.status().message().c_str());
    return 1;
  }
  if (state->spec.hosts < 2 || findOnPath("iperf3").empty()) {
    std::fprintf(stderr, "eccl-netlab ceiling: needs 2 hosts and iperf3\n");
    return 2;
  }
  auto result = measureBothWays(state->spec, streams, seconds);
  if (!result) {
    std::fprintf(stderr, "eccl-netlab ceiling: %s\n", result.status().message().c_str());
    return 1;
  }
  const double rate = static_cast<double>(state->spec.rate_bps) / 1e9;
  const double forward = result->first / 1e9;
  const double backward = result->second / 1e9;
  if (json) {
    nlohmann::json out = {{"streams", streams},
                          {"seconds", seconds},
                          {"rate_gbps", rate},
                          {"forward_gbps", forward},
                          {"backward_gbps", backward}};
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf(
        "iperf3, %d streams each way at once, %d s: h0->h1 %.3f Gbit/s (%.1f %%), "
        "h1->h0 %.3f Gbit/s (%.1f %%)\n",
        streams, seconds, forward, 100 * forward / rate, backward, 100 * backward / rate);
  }
  return 0;
}

int runSelftest(const SelftestOptions& options) {
  const Status privileges = checkPrivileges();
  if (!privileges) {
    std::fprintf(stderr, "eccl-netlab selftest: %s\n", privileges.message().c_str());
    return 2;
  }
  if (findOnPath("iperf3").empty()) {
    std::fprintf(stderr, "eccl-netlab selftest: iperf3 not found (scripts/install-deps.sh)\n");
    return 2;
  }
  LabSpec wan = options.spec;
  wan.prefix = "eccl-selftest" + std::to_string(getpid());
  wan.hosts = 2;
  wan.slow_links.clear();
  std::printf("selftest lab %s (if interrupted: eccl-netlab down --prefix %s)\n",
              wan.prefix.c_str(), wan.prefix.c_str());
  int exit_code = runOnLab(options, wan);
  if (options.lan_too && exit_code != 2) {
    LabSpec lan = wan;
    lan.delay = std::chrono::microseconds(0);
    const int lan_code = runOnLab(options, lan);
    if (exit_code == 0) exit_code = lan_code;
  }
  return exit_code;
}

}  // namespace eccl::tools::netlab
