// eccl-netlab on real namespaces (root): a LAN lab's hosts reach each other, a
// WAN lab delays packets and carries TCP, and `down` removes exactly the lab,
// also after the delay line was killed and the state file lost. Every test
// uses its own prefix and removes what it made in TearDown, even on failure.
// No throughput asserts: `eccl-netlab selftest` measures that.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "tools/common/child_process.h"
#include "tools/eccl-netlab/lab_spec.h"
#include "tools/eccl-netlab/lab_state.h"
#include "tools/eccl-netlab/namespaces.h"
#include "tools/eccl-netlab/process_info.h"

namespace eccl::tools::netlab {
namespace {

using namespace std::chrono_literals;

struct CommandRun {
  int exit_code = -1;
  std::string output;  // stdout
};

// True where this process may create network namespaces (root, a kernel with
// them); probed once with a namespace of its own.
bool namespacesAvailable() {
  static const bool available = [] {
    if (geteuid() != 0) return false;
    const std::string probe = "eccltest" + std::to_string(getpid()) + "probe";
    auto child = ChildProcess::spawn({.argv = {findOnPath("ip"), "netns", "add", probe},
                                      .stdout_to = ChildOutput::kDevNull,
                                      .stderr_to = ChildOutput::kDevNull});
    if (!child) return false;
    auto status = (*child)->wait(20s);
    const bool added = status && ChildProcess::exitedCleanly(*status);
    if (added) {
      EXPECT_TRUE(deleteNamespace(probe));
    }
    return added;
  }();
  return available;
}

class NetlabLabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!namespacesAvailable()) {
      GTEST_SKIP() << "cannot create network namespaces here (`ip netns add` fails; needs root)";
    }
    static int test_number = 0;
    prefix_ = "eccltest" + std::to_string(getpid()) + "x" + std::to_string(test_number++);
  }

  void TearDown() override {
    if (prefix_.empty()) return;
    netlab({"down", "--prefix", prefix_});
    // Whatever `down` may have missed, and only this test's names.
    for (const std::string& name : listNamespaces())
      if (isLabNamespace(prefix_, name)) {
        EXPECT_TRUE(deleteNamespace(name)) << name;
      }
    for (const std::string& path : {statePath(prefix_), pidfilePath(prefix_)})
      unlink(path.c_str());
  }

  // eccl-netlab ARGS, bounded in time; stdout returned, stderr passed through.
  CommandRun netlab(std::vector<std::string> args, std::chrono::seconds timeout = 40s) {
    std::vector<std::string> argv = {ECCL_NETLAB_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    auto child = ChildProcess::spawn({.argv = argv, .stdout_to = ChildOutput::kPipe});
    if (!child) {
      ADD_FAILURE() << child.status().toString();
      return {};
    }
    CommandRun run;
    auto output = (*child)->readAll(timeout);
    if (output) run.output = *output;
    auto status = (*child)->wait(5s);
    if (!output || !status) {
      ADD_FAILURE() << "eccl-netlab " << ::testing::PrintToString(args) << " did not finish";
      return run;
    }
    run.exit_code = WIFEXITED(*status) ? WEXITSTATUS(*status) : 128 + WTERMSIG(*status);
    return run;
  }

  CommandRun up(std::vector<std::string> options) {
    std::vector<std::string> args = {"up", "--prefix", prefix_};
    args.insert(args.end(), options.begin(), options.end());
    return netlab(args);
  }

  CommandRun inHost(int host, std::vector<std::string> command) {
    std::vector<std::string> args = {"exec", "--prefix", prefix_, std::to_string(host), "--"};
    args.insert(args.end(), command.begin(), command.end());
    return netlab(args);
  }

  std::vector<std::string> labNamespaces() const {
    std::vector<std::string> names;
    for (const std::string& name : listNamespaces())
      if (isLabNamespace(prefix_, name)) names.push_back(name);
    return names;
  }

  void expectGone() {
    EXPECT_TRUE(labNamespaces().empty()) << ::testing::PrintToString(labNamespaces());
    struct stat info {};
    EXPECT_NE(stat(statePath(prefix_).c_str(), &info), 0) << statePath(prefix_) << " left";
  }

  std::string prefix_;
};

TEST_F(NetlabLabTest, LanHostsReachEachOtherAndDownRemovesEverything) {
  ASSERT_EQ(up({"--hosts", "3", "--rate", "1gbit", "--slow-link", "0-2:100mbit"}).exit_code, 0);
  for (int from = 0; from < 3; ++from) {
    for (int to = 0; to < 3; ++to) {
      if (from == to) continue;
      EXPECT_EQ(inHost(from, {"ping", "-c", "1", "-W", "2", "-q", hostAddress(to)}).exit_code, 0)
          << "h" << from << " -> h" << to;
    }
  }
  const CommandRun show = netlab({"show", "--prefix", prefix_});
  EXPECT_EQ(show.exit_code, 0);
  for (int host = 0; host < 3; ++host) {
    EXPECT_NE(show.output.find(hostNamespace(prefix_, host)), std::string::npos) << show.output;
    EXPECT_NE(show.output.find(hostAddress(host)), std::string::npos) << show.output;
  }
  EXPECT_NE(show.output.find("mode: lan"), std::string::npos) << show.output;
  const CommandRun address = netlab({"addr", "--prefix", prefix_, "h2"});
  EXPECT_EQ(address.output, hostAddress(2) + "\n");
  // The slow link is an htb class on h0's egress; exec passes exit codes through.
  const CommandRun classes = inHost(0, {"tc", "class", "show", "dev", "eth0"});
  EXPECT_NE(classes.output.find("rate 100Mbit"), std::string::npos) << classes.output;
  EXPECT_EQ(inHost(1, {"sh", "-c", "exit 7"}).exit_code, 7);
  EXPECT_EQ(labNamespaces().size(), 4u) << "3 hosts and the bridge";
  // A second `up` of the same prefix is refused and leaves the lab alone.
  EXPECT_EQ(up({"--hosts", "2", "--rate", "1gbit"}).exit_code, 1);
  EXPECT_EQ(labNamespaces().size(), 4u);

  EXPECT_EQ(netlab({"down", "--prefix", prefix_}).exit_code, 0);
  expectGone();
  EXPECT_EQ(netlab({"down", "--prefix", prefix_}).exit_code, 0) << "down is idempotent";
}

TEST_F(NetlabLabTest, WanDelaysPacketsAndCarriesTcp) {
  ASSERT_EQ(up({"--hosts", "2", "--rate", "1gbit", "--delay", "20ms"}).exit_code, 0);
  const CommandRun ping = inHost(0, {"ping", "-c", "3", "-i", "0.2", "-q", hostAddress(1)});
  ASSERT_EQ(ping.exit_code, 0) << ping.output;
  std::smatch rtt;
  ASSERT_TRUE(std::regex_search(ping.output, rtt, std::regex(R"(= ([0-9.]+)/([0-9.]+)/)")))
      << ping.output;
  EXPECT_GE(std::stod(rtt[1]), 40.0) << "RTT must include 2 x 20 ms: " << ping.output;

  // TCP across the delay line: 4 MB from h0 to an iperf3 server in h1.
  if (findOnPath("iperf3").empty()) GTEST_SKIP() << "iperf3 not installed: TCP not checked";
  auto server = ChildProcess::spawn({.argv = {ECCL_NETLAB_BIN, "exec", "--prefix", prefix_, "1",
                                              "--", "iperf3", "-s", "-1", "--forceflush"},
                                     .stdout_to = ChildOutput::kPipe,
                                     .stderr_to = ChildOutput::kDevNull});
  ASSERT_TRUE(server) << server.status().toString();
  while (true) {
    auto line = (*server)->readLine(15s);
    ASSERT_TRUE(line) << line.status().toString();
    if (line->find("Server listening") != std::string::npos) break;
  }
  const CommandRun client = inHost(0, {"iperf3", "-c", hostAddress(1), "-n", "4M", "-J"});
  ASSERT_EQ(client.exit_code, 0) << client.output;
  const auto report = nlohmann::json::parse(client.output);
  // -n counts what the client wrote; the server's count stops at the client's end.
  EXPECT_GE(report["end"]["sum_sent"]["bytes"].get<uint64_t>(), 4u << 20) << client.output;
  EXPECT_GT(report["end"]["sum_received"]["bytes"].get<uint64_t>(), 0u) << client.output;
  (*server)->stop(2s);

  const CommandRun show = netlab({"show", "--prefix", prefix_});
  EXPECT_NE(show.output.find("mode: wan"), std::string::npos) << show.output;
  EXPECT_NE(show.output.find("alive"), std::string::npos) << show.output;
  EXPECT_EQ(netlab({"down", "--prefix", prefix_}).exit_code, 0);
  expectGone();
}

TEST_F(NetlabLabTest, DownRecoversAfterTheDaemonAndStateFileAreLost) {
  ASSERT_EQ(up({"--hosts", "2", "--rate", "100mbit", "--delay", "5ms"}).exit_code, 0);
  auto state = readState(prefix_);
  ASSERT_TRUE(state) << state.status().toString();
  const pid_t daemon = state->daemon_pid;
  ASSERT_TRUE(processIsAlive(daemon, state->daemon_start_ticks));
  ASSERT_EQ(kill(daemon, SIGKILL), 0);
  for (int i = 0; i < 100 && processIsAlive(daemon, state->daemon_start_ticks); ++i)
    std::this_thread::sleep_for(20ms);
  ASSERT_EQ(unlink(statePath(prefix_).c_str()), 0);
  ASSERT_EQ(labNamespaces().size(), 2u);

  EXPECT_EQ(netlab({"show", "--prefix", prefix_}).exit_code, 1) << "no state: nothing to show";
  EXPECT_EQ(netlab({"down", "--prefix", prefix_}).exit_code, 0);
  expectGone();
}

#ifdef ECCL_BENCH_BIN
// `eccl-bench allreduce --netlab`: one rank per namespace of a lab the bench
// brings up and takes down itself; every implementation's row is checked and
// carries its share of the link.
TEST_F(NetlabLabTest, BenchRunsEveryImplementationInsideALab) {
  std::vector<std::string> argv = {ECCL_BENCH_BIN, "allreduce", "--peers",   "3",        "--sizes",
                                   "1M",           "--iters",   "2",         "--rounds", "1",
                                   "--netlab",     "lan:1gbit", "--timeout", "30",       "--json"};
  std::vector<std::string> impls = {"eccl"};
  for (const char* comparator : {"gloo", "mpi"}) {
    const std::string program = std::string(ECCL_BENCH_BIN);
    const std::string beside =
        program.substr(0, program.rfind('/') + 1) + "eccl-" + comparator + "-allreduce";
    const bool runs = access(beside.c_str(), X_OK) == 0 &&
                      (std::string(comparator) != "mpi" || !findOnPath("mpirun").empty());
    if (runs) impls.push_back(comparator);
  }
  if (impls.size() > 1) {
    std::string list;
    for (size_t i = 1; i < impls.size(); ++i)
      list += (i > 1 ? "," : "") + impls[i];
    argv.insert(argv.end(), {"--compare", list});
  }
  auto bench = ChildProcess::spawn({.argv = argv, .stdout_to = ChildOutput::kPipe});
  ASSERT_TRUE(bench) << bench.status().toString();
  const std::string lab = "eb" + std::to_string((*bench)->pid());
  auto output = (*bench)->readAll(180s);
  ASSERT_TRUE(output) << output.status().toString();
  auto exited = (*bench)->wait(30s);
  ASSERT_TRUE(exited);
  EXPECT_TRUE(ChildProcess::exitedCleanly(*exited)) << *output;
  std::set<std::string> seen;
  bool ceiling_seen = false;
  std::istringstream lines(*output);
  for (std::string line; std::getline(lines, line);) {
    auto row = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(row.is_discarded()) << "not JSON: " << line;
    if (row.value("bench", "") == "netlab_ceiling") {
      EXPECT_GT(row.value("forward_gbps", 0.0), 0.0) << line;
      EXPECT_GT(row.value("backward_gbps", 0.0), 0.0) << line;
      ceiling_seen = true;
      continue;
    }
    EXPECT_TRUE(row.value("ok", false)) << line;
    EXPECT_GT(row.value("ceiling_pct", 0.0), 0.0) << line;
    EXPECT_EQ(row.value("netlab", ""), "lan:1gbit") << line;
    const double pct = row.value("link_pct", -1.0);
    EXPECT_GT(pct, 0.0) << line;
    EXPECT_LT(pct, 110.0) << "faster than the shaped link: not inside the lab? " << line;
    seen.insert(row.value("impl", ""));
  }
  EXPECT_EQ(seen, std::set<std::string>(impls.begin(), impls.end())) << *output;
  EXPECT_TRUE(ceiling_seen) << "no iperf3 ceiling measured in the lab:\n" << *output;
  for (const std::string& name : listNamespaces())
    EXPECT_NE(name.rfind(lab + "-", 0), 0u) << "the bench left " << name << " behind";
}
#endif

#ifdef ECCL_STRESS_BIN
// `eccl-stress --netlab wan:...`: the master and the peers in the hosts of a
// WAN lab the soak brings up and takes down itself; a kill and joins on the
// way, every step still exactly checked.
TEST_F(NetlabLabTest, StressSoakRunsInsideAWanLab) {
  const std::vector<std::string> argv = {ECCL_STRESS_BIN,
                                         "--peers",
                                         "3",
                                         "--max-peers",
                                         "4",
                                         "--duration",
                                         "12",
                                         "--seed",
                                         "5",
                                         "--kill-rate",
                                         "0.1",
                                         "--join-rate",
                                         "0.2",
                                         "--size",
                                         "256K",
                                         "--netlab",
                                         "wan:1gbit:50ms",
                                         "--json"};
  auto stress = ChildProcess::spawn({.argv = argv, .stdout_to = ChildOutput::kPipe});
  ASSERT_TRUE(stress) << stress.status().toString();
  const std::string lab = "eb" + std::to_string((*stress)->pid());
  auto output = (*stress)->readAll(180s);
  ASSERT_TRUE(output) << output.status().toString();
  auto exited = (*stress)->wait(30s);
  ASSERT_TRUE(exited);
  EXPECT_TRUE(ChildProcess::exitedCleanly(*exited)) << *output;
  const size_t last_start = output->rfind('\n', output->size() - 2);
  const auto summary = nlohmann::json::parse(
      output->substr(last_start == std::string::npos ? 0 : last_start + 1), nullptr, false);
  ASSERT_TRUE(summary.is_object()) << *output;
  EXPECT_EQ(summary.value("netlab", ""), "wan:1gbit:50ms");
  EXPECT_TRUE(summary.value("ok", false)) << *output;
  EXPECT_GT(summary.value("steps", 0), 5) << *output;
  EXPECT_EQ(summary.value("wrong_results", 1), 0);
  EXPECT_EQ(summary.value("parity_failures", 1), 0);
  EXPECT_NE(output->find("ceiling (iperf3"), std::string::npos) << *output;
  // The peers ran inside the lab: they listened on its addresses, not loopback.
  EXPECT_NE(output->find("eccl-master on 10.213.0.1:"), std::string::npos) << *output;
  for (const std::string& name : listNamespaces())
    EXPECT_NE(name.rfind(lab + "-", 0), 0u) << "the soak left " << name << " behind";
}
#endif

}  // namespace
}  // namespace eccl::tools::netlab
