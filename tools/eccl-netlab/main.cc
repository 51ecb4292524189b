// eccl-netlab: network labs of namespaces for ECCL benchmarks and tests, a
// shaped LAN (bridge + tbf/htb) or a WAN (a userspace TUN delay line).
// This file wires the command line to the subcommands; each lives in its own file.
#include <CLI/CLI.hpp>
#include <cstdio>

#include "tools/common/child_process.h"
#include "tools/eccl-netlab/delay_line_daemon.h"
#include "tools/eccl-netlab/lab_commands.h"
#include "tools/eccl-netlab/lab_spec.h"
#include "tools/eccl-netlab/quantity_parse.h"
#include "tools/eccl-netlab/selftest.h"

namespace {

using eccl::Status;
using namespace eccl::tools::netlab;

// Exit codes: 0 done, 1 failed, 2 bad arguments or no privileges/namespaces.
int exitCodeOf(const Status& status, const char* command) {
  if (status) return 0;
  std::fprintf(stderr, "eccl-netlab %s: %s\n", command, status.message().c_str());
  const auto code = status.code();
  return code == eccl::Code::kInvalidArgument || code == eccl::Code::kUnsupported ? 2 : 1;
}

// The textual link options of `up` and `selftest`, converted after parsing.
struct LinkArguments {
  std::string rate = "1gbit";
  std::string delay = "0ms";
  std::string queue = "25ms";
  std::vector<std::string> slow_links;
  bool no_gso = false;
};

const CLI::Validator kRateValidator(
    [](std::string& text) {
      auto rate = parseRate(text);
      return rate ? std::string() : rate.status().message();
    },
    "RATE");
const CLI::Validator kDurationValidator(
    [](std::string& text) {
      auto duration = parseDuration(text);
      return duration ? std::string() : duration.status().message();
    },
    "DURATION");

void addLinkOptions(CLI::App* command, LinkArguments& link, LabSpec& spec) {
  command->add_option("--rate", link.rate, "Link rate per host and direction (1gbit, 200mbit)")
      ->check(kRateValidator)
      ->capture_default_str();
  command
      ->add_option("--delay", link.delay,
                   "One-way delay (RTT = 2x); above 0 selects WAN mode, the TUN delay line")
      ->check(kDurationValidator)
      ->capture_default_str();
  command->add_option("--queue", link.queue, "WAN: tail-drop queue, as time at the link rate")
      ->check(kDurationValidator)
      ->capture_default_str();
  command
      ->add_option("--mtu", spec.mtu,
                   "MTU of the hosts' links; WAN: a larger one (9000, 65000) cuts the delay "
                   "line's CPU per byte when GSO is off")
      ->capture_default_str();
  command->add_flag("--no-gso", link.no_gso,
                    "WAN: packets of at most MTU bytes through the delay line (no TUN offload)");
}

Status applyLinkArguments(const LinkArguments& link, LabSpec& spec) {
  spec.rate_bps = *parseRate(link.rate);
  spec.delay = *parseDuration(link.delay);
  spec.queue = *parseDuration(link.queue);
  spec.gso = !link.no_gso;
  for (const std::string& text : link.slow_links) {
    auto slow = parseSlowLink(text);
    if (!slow) return slow.status();
    spec.slow_links.push_back(*slow);
  }
  return validateSpec(spec);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app(
      "eccl-netlab: network namespaces for ECCL labs. Host i of a lab is namespace PREFIX-hi "
      "at 10.213.0.(i+1); a lab's state is in /run/eccl-netlab/PREFIX.state");
  app.require_subcommand(1);
  std::string prefix(kDefaultPrefix);

  LabSpec spec;
  LinkArguments link;
  auto* up = app.add_subcommand("up", "Create a lab; returns once h0 reaches every host");
  up->add_option("--hosts", spec.hosts, "Hosts (2..250)")->required();
  addLinkOptions(up, link, spec);
  up->add_option("--slow-link", link.slow_links,
                 "LAN: traffic between hosts A and B at a lower rate (A-B:RATE, repeatable)");
  up->add_option("--prefix", prefix, "Lab name: namespaces PREFIX-h0.. and PREFIX-br")
      ->capture_default_str();

  auto* down = app.add_subcommand("down", "Stop the delay line and delete the lab's namespaces");
  down->add_option("--prefix", prefix, "Lab name")->capture_default_str();

  auto* show = app.add_subcommand("show", "Print the lab's hosts, addresses and link model");
  show->add_option("--prefix", prefix, "Lab name")->capture_default_str();

  std::string host;
  std::vector<std::string> command;
  auto* exec = app.add_subcommand("exec", "Run a command in a host's namespace: exec HOST -- CMD");
  exec->add_option("--prefix", prefix, "Lab name")->capture_default_str();
  exec->add_option("host", host, "Host index or name (0, h0, PREFIX-h0)")->required();
  exec->add_option("command", command, "The command (after --)")->required();

  auto* addr = app.add_subcommand("addr", "Print a host's address");
  addr->add_option("--prefix", prefix, "Lab name")->capture_default_str();
  addr->add_option("host", host, "Host index or name")->required();

  SelftestOptions selftest_options;
  LinkArguments selftest_link;
  selftest_link.delay = "25ms";
  auto* selftest = app.add_subcommand(
      "selftest", "iperf3 both ways at once across a private 2-host lab: the emulator's ceiling");
  addLinkOptions(selftest, selftest_link, selftest_options.spec);
  selftest->add_option("--seconds", selftest_options.seconds, "Seconds per iperf3 run")
      ->check(CLI::Range(1, 120))
      ->capture_default_str();
  selftest->add_option("--streams", selftest_options.streams, "TCP streams per direction, in turn")
      ->check(CLI::Range(1, 128))
      ->capture_default_str();
  selftest->add_flag("--lan", selftest_options.lan_too, "Also measure a LAN lab (bridge + tbf)");

  int ceiling_streams = 8;
  int ceiling_seconds = 5;
  bool ceiling_json = false;
  auto* ceiling = app.add_subcommand(
      "ceiling", "iperf3 both ways at once between h0 and h1 of a lab that is up");
  ceiling->add_option("--prefix", prefix, "Lab name")->capture_default_str();
  ceiling->add_option("--streams", ceiling_streams, "TCP streams per direction")
      ->check(CLI::Range(1, 128))
      ->capture_default_str();
  ceiling->add_option("--seconds", ceiling_seconds, "Seconds of iperf3")
      ->check(CLI::Range(1, 120))
      ->capture_default_str();
  ceiling->add_flag("--json", ceiling_json, "One JSON object");

  std::string daemon_spec;
  auto* daemon = app.add_subcommand(kDaemonSubcommand, "")->group("");  // hidden
  daemon->add_option("--spec", daemon_spec)->required();

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    return app.exit(error) == 0 ? 0 : 2;
  }
  if (*daemon) return runDelayLineDaemon(daemon_spec);

  // Children (ip, tc, iperf3) die with this process, whatever ends it.
  eccl::tools::installChildCleanupOnSignals();
  if (*up) {
    spec.prefix = prefix;
    const Status valid = applyLinkArguments(link, spec);
    if (!valid) return exitCodeOf(valid, "up");
    return exitCodeOf(upLab(spec), "up");
  }
  if (*down) return exitCodeOf(downLab(prefix), "down");
  if (*show) return exitCodeOf(showLab(prefix), "show");
  if (*addr) return exitCodeOf(printHostAddress(prefix, host), "addr");
  if (*exec) return exitCodeOf(execInHost(prefix, host, command), "exec");
  if (*ceiling) return runCeiling(prefix, ceiling_streams, ceiling_seconds, ceiling_json);
  if (*selftest) {
    const Status valid = applyLinkArguments(selftest_link, selftest_options.spec);
    if (!valid) return exitCodeOf(valid, "selftest");
    return runSelftest(selftest_options);
  }
  return 2;
}
