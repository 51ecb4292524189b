#include "tools/eccl-bench/netlab_session.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <nlohmann/json.hpp>

#include "tools/common/child_process.h"

namespace eccl::tools::bench {
namespace {

using namespace std::chrono_literals;

// "1gbit" -> 1e9; nullopt-like 0 for anything else.
double parseRateBits(std::string_view text) {
  double value = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || value <= 0) return 0;
  const std::string_view unit(end, text.data() + text.size() - end);
  if (unit == "bit") return value;
  if (unit == "kbit") return value * 1e3;
  if (unit == "mbit") return value * 1e6;
  if (unit == "gbit") return value * 1e9;
  return 0;
}

// Runs `eccl-netlab ARGS...` to its end; its stdout, or why it failed.
Result<std::string> runTool(const std::string& tool, std::vector<std::string> args,
                            std::chrono::milliseconds timeout) {
  SpawnOptions spawn;
  spawn.program = tool;
  spawn.argv = {"eccl-netlab"};
  spawn.argv.insert(spawn.argv.end(), args.begin(), args.end());
  spawn.name = "eccl-netlab " + args.front();
  spawn.stdout_to = ChildOutput::kPipe;
  auto child = ChildProcess::spawn(spawn);
  if (!child) return child.status();
  auto output = (*child)->readAll(timeout);
  if (!output) return output.status();
  auto exited = (*child)->wait(timeout);
  if (!exited) return exited.status();
  if (!ChildProcess::exitedCleanly(*exited)) {
    return internalError(spawn.name + " " + ChildProcess::describeExit(*exited));
  }
  return *output;
}

std::string trimmed(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
    text.pop_back();
  return text;
}

}  // namespace

Result<NetlabSpec> parseNetlabSpec(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    return invalidArgument("--netlab '" + std::string(text) + "': " + why +
                           " (expected lan:RATE or wan:RATE:RTT, e.g. lan:1gbit, wan:1gbit:50ms)");
  };
  NetlabSpec spec;
  spec.text = text;
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t colon = text.find(':', start);
    parts.push_back(text.substr(start, colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts[0] == "lan" && parts.size() == 2) {
    spec.wan = false;
  } else if (parts[0] == "wan" && parts.size() == 3) {
    spec.wan = true;
  } else {
    return bad("unknown form");
  }
  spec.rate = parts[1];
  spec.rate_bits_per_s = parseRateBits(parts[1]);
  if (spec.rate_bits_per_s <= 0) return bad("the rate needs a unit: bit, kbit, mbit or gbit");
  if (spec.wan) {
    const std::string_view rtt = parts[2];
    int ms = 0;
    auto [end, error] = std::from_chars(rtt.data(), rtt.data() + rtt.size(), ms);
    if (error != std::errc() || std::string_view(end, rtt.data() + rtt.size() - end) != "ms" ||
        ms < 2 || ms % 2 != 0) {
      return bad("the round-trip time must be an even number of milliseconds, at least 2ms");
    }
    spec.rtt = std::chrono::milliseconds(ms);
  }
  return spec;
}

Result<std::unique_ptr<NetlabSession>> NetlabSession::create(std::string tool,
                                                             const NetlabSpec& spec, int hosts) {
  // A prefix of this process's own: labs of concurrent benchmarks never meet.
  std::unique_ptr<NetlabSession> session(
      new NetlabSession(std::move(tool), spec, "eb" + std::to_string(getpid())));
  if (Status status = session->up(hosts); !status.isOk()) return status;
  return session;
}

Status NetlabSession::up(int hosts) {
  std::vector<std::string> args = {
      "up", "--hosts", std::to_string(hosts), "--rate", spec_.rate, "--prefix", prefix_};
  if (spec_.wan) {
    args.insert(args.end(), {"--delay", std::to_string(spec_.rtt.count() / 2) + "ms"});
  }
  auto up = runTool(tool_, args, 60s);
  if (!up) {
    (void)runTool(tool_, {"down", "--prefix", prefix_}, 60s);
    return up.status().withContext("bringing the lab up");
  }
  for (int host = 0; host < hosts; ++host) {
    auto address = runTool(tool_, {"addr", "--prefix", prefix_, std::to_string(host)}, 10s);
    if (!address)
      return address.status().withContext("the lab's address of host " + std::to_string(host));
    addresses_.push_back(trimmed(*address));
    namespaces_.push_back(prefix_ + "-h" + std::to_string(host));
  }
  std::fprintf(stderr,
               "eccl-bench: lab %s is up (%s); if this run is killed: eccl-netlab down "
               "--prefix %s\n",
               prefix_.c_str(), spec_.text.c_str(), prefix_.c_str());
  return Status::ok();
}

NetlabSession::~NetlabSession() {
  auto down = runTool(tool_, {"down", "--prefix", prefix_}, 60s);
  if (!down) {
    std::fprintf(stderr, "eccl-bench: taking the lab %s down: %s\n", prefix_.c_str(),
                 down.status().toString().c_str());
  }
}

Result<NetlabSession::Ceiling> NetlabSession::measureCeiling(int streams, int seconds) {
  if (ceiling_.streams > 0) return ceiling_;
  auto output = runTool(tool_,
                        {"ceiling", "--prefix", prefix_, "--streams", std::to_string(streams),
                         "--seconds", std::to_string(seconds), "--json"},
                        std::chrono::seconds(seconds + 60));
  if (!output) return output.status().withContext("measuring the lab's ceiling");
  auto json = nlohmann::json::parse(*output, nullptr, false);
  if (json.is_discarded() || !json.contains("forward_gbps")) {
    return internalError("eccl-netlab ceiling printed no figures: " + *output);
  }
  ceiling_ = {streams, json.value("forward_gbps", 0.0), json.value("backward_gbps", 0.0)};
  return ceiling_;
}

std::vector<std::string> NetlabSession::inside(int host, std::vector<std::string> argv) const {
  std::vector<std::string> wrapped = {"ip", "netns", "exec", namespaceOf(host)};
  wrapped.insert(wrapped.end(), argv.begin(), argv.end());
  return wrapped;
}

int runNetnsRsh(const std::string& map, const std::vector<std::string>& args) {
  if (args.size() < 2) {
    std::fprintf(stderr, "eccl-bench netns-rsh: usage: --map ADDR=NS,... HOST COMMAND...\n");
    return 2;
  }
  std::string ns;
  for (size_t start = 0; start <= map.size();) {
    size_t end = map.find(',', start);
    if (end == std::string::npos) end = map.size();
    const std::string entry = map.substr(start, end - start);
    const size_t eq = entry.find('=');
    if (eq != std::string::npos && entry.substr(0, eq) == args[0]) ns = entry.substr(eq + 1);
    start = end + 1;
  }
  if (ns.empty()) {
    std::fprintf(stderr, "eccl-bench netns-rsh: %s is no host of the lab (%s)\n", args[0].c_str(),
                 map.c_str());
    return 2;
  }
  std::string command;
  for (size_t i = 1; i < args.size(); ++i)
    command += (i > 1 ? " " : "") + args[i];
  const std::string ip = findOnPath("ip");
  execl(ip.c_str(), "ip", "netns", "exec", ns.c_str(), "/bin/sh", "-c", command.c_str(),
        static_cast<char*>(nullptr));
  std::fprintf(stderr, "eccl-bench netns-rsh: cannot run %s: %s\n", ip.c_str(),
               std::strerror(errno));
  return 1;
}

Status enterNamespace(const std::string& name) {
  const std::string path = "/run/netns/" + name;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return systemError("opening " + path + ": " + std::strerror(errno));
  const int entered = setns(fd, CLONE_NEWNET);
  const int saved = errno;
  close(fd);
  if (entered != 0) return systemError("entering " + name + ": " + std::strerror(saved));
  return Status::ok();
}

}  // namespace eccl::tools::bench
