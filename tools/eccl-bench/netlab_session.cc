#include "tools/eccl-bench/netlab_session.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <nlohmann/json.hpp>

#include "tools/common/child_process.h"
#include "tools/eccl-netlab/lab_spec.h"
#include "tools/eccl-netlab/quantity_parse.h"
#include "tools/eccl-netlab/system_command.h"

namespace eccl::tools::bench {
namespace {

using namespace std::chrono_literals;

}  // namespace

Result<std::unique_ptr<NetlabSession>> openNetlab(const std::string& text, int hosts,
                                                  std::vector<std::string> slow_links) {
  auto spec = parseNetlabSpec(text);
  if (!spec) return spec.status();
  if (!slow_links.empty() && spec->wan) {
    return invalidArgument("--slow-link needs a LAN lab (lan:RATE), not " + text);
  }
  spec->slow_links = std::move(slow_links);
  const std::string tool = besideSelf("eccl-netlab");
  if (tool.empty())
    return invalidArgument("--netlab needs eccl-netlab, installed next to this tool");
  return NetlabSession::create(tool, *spec, hosts);
}

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
  auto rate = netlab::parseRate(parts[1]);
  if (!rate) return bad(rate.status().message());
  spec.rate_bits_per_s = static_cast<double>(*rate);
  if (spec.wan) {
    auto rtt = netlab::parseDuration(parts[2]);
    if (!rtt || rtt->count() % 2000 != 0 || *rtt < 2ms) {
      return bad("the round-trip time must be an even number of milliseconds, at least 2ms");
    }
    spec.rtt = std::chrono::duration_cast<std::chrono::milliseconds>(*rtt);
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
  std::vector<std::string> argv = {tool_,    "up",       "--hosts",  std::to_string(hosts),
                                   "--rate", spec_.rate, "--prefix", prefix_};
  if (spec_.wan) {
    argv.insert(argv.end(), {"--delay", std::to_string(spec_.rtt.count() / 2) + "ms"});
  }
  for (const std::string& slow : spec_.slow_links)
    argv.insert(argv.end(), {"--slow-link", slow});
  auto up = netlab::runCommand(argv, 60s);
  if (!up) {
    (void)netlab::runCommand({tool_, "down", "--prefix", prefix_}, 60s);
    return up.status().withContext("bringing the lab up");
  }
  hosts_ = hosts;
  std::fprintf(stderr,
               "eccl-netlab lab %s is up (%s); if this run is killed: eccl-netlab down "
               "--prefix %s\n",
               prefix_.c_str(), spec_.text.c_str(), prefix_.c_str());
  return Status::ok();
}

NetlabSession::~NetlabSession() {
  auto down = netlab::runCommand({tool_, "down", "--prefix", prefix_}, 60s);
  if (!down) {
    std::fprintf(stderr, "taking the eccl-netlab lab %s down: %s\n", prefix_.c_str(),
                 down.status().toString().c_str());
  }
}

std::string NetlabSession::namespaceOf(int host) const {
  return netlab::hostNamespace(prefix_, host);
}

std::string NetlabSession::addressOf(int host) const {
  return netlab::hostAddress(host);
}

std::string NetlabSession::subnet() const {
  return netlab::subnetCidr();
}

Status NetlabSession::measureCeiling(int streams, int seconds) {
  auto output =
      netlab::runCommand({tool_, "ceiling", "--prefix", prefix_, "--streams",
                          std::to_string(streams), "--seconds", std::to_string(seconds), "--json"},
                         std::chrono::seconds(seconds + 60));
  if (!output) return output.status().withContext("measuring the lab's ceiling");
  auto json = nlohmann::json::parse(*output, nullptr, false);
  if (json.is_discarded() || !json.contains("forward_gbps")) {
    return internalError("eccl-netlab ceiling printed no figures: " + *output);
  }
  ceiling_ = {streams, seconds, json.value("forward_gbps", 0.0), json.value("backward_gbps", 0.0)};
  return Status::ok();
}

std::vector<std::string> NetlabSession::inside(int host, std::vector<std::string> argv) const {
  auto wrapped = netlab::inNamespace(namespaceOf(host), std::move(argv));
  // A path, as ChildProcess::spawn wants argv[0] to be when no program is given.
  if (const std::string ip = findOnPath("ip"); !ip.empty()) wrapped.front() = ip;
  return wrapped;
}

int runNetnsRsh(const std::string& prefix, const std::string& session_dirs,
                const std::vector<std::string>& args) {
  if (args.size() < 2) {
    std::fprintf(stderr, "eccl-bench netns-rsh: usage: --prefix P HOST COMMAND...\n");
    return 2;
  }
  in_addr address{};
  const int host = inet_pton(AF_INET, args[0].c_str(), &address) == 1
                       ? netlab::hostOfAddress(ntohl(address.s_addr), netlab::kMaxHosts)
                       : -1;
  if (host < 0) {
    std::fprintf(stderr, "eccl-bench netns-rsh: %s is no lab host address\n", args[0].c_str());
    return 2;
  }
  if (!session_dirs.empty()) {
    const std::string own = session_dirs + "/host" + std::to_string(host);
    if (mkdir(own.c_str(), 0700) != 0 && errno != EEXIST) {
      std::fprintf(stderr, "eccl-bench netns-rsh: cannot create %s: %s\n", own.c_str(),
                   std::strerror(errno));
      return 1;
    }
    setenv("OMPI_MCA_orte_tmpdir_base", own.c_str(), 1);
  }
  const std::string ns = netlab::hostNamespace(prefix, host);
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
