// eccl-peer: a peer daemon on the C++ Communicator. It joins a group, votes
// every membership change through, and prints one line per event and per
// topology change (--json: JSON lines) until SIGINT/SIGTERM, when it leaves
// the group gracefully and exits 0.
#include <CLI/CLI.hpp>
#include <csignal>
#include <cstdio>
#include <cstdlib>

#include "src/common/host_port.h"
#include "tools/common/quant_spec.h"
#include "tools/eccl-bench/size_parse.h"
#include "tools/eccl-master/host_port_option.h"
#include "tools/eccl-master/security_options.h"
#include "tools/eccl-master/shutdown_signals.h"
#include "tools/eccl-peer/peer_daemon.h"

namespace {

using namespace eccl;

struct Arguments {
  std::string master;
  std::string group = "default";
  std::string listen = "0.0.0.0:0";
  std::string advertise;
  int connections = transport::ChannelOptions{}.connections;
  long long timeout_ms = 30'000;
  bool json = false;
  uint64_t steps = 0;
  std::string allreduce_size;
  long long step_ms = 100;
  uint64_t input_seed = 0;
  uint64_t corrupt_step = 0;
  uint64_t hang_step = 0;
  std::string state_size;
  uint32_t state_entries = 4;
  uint64_t state_seed = 1;
  bool state_receive = false;
  std::optional<uint64_t> state_fetch_mbit;
  uint32_t state_every = 1;
  std::string quant;
  std::string die_at;
  tools::SecurityArguments security;
  std::string tls_data;
};

void addOptions(CLI::App& app, Arguments& args) {
  app.add_option("--master", args.master, "The master's control address")
      ->required()
      ->check(tools::hostPortValidator(false));
  app.add_option("--group", args.group, "Group to join")->capture_default_str();
  app.add_option("--listen", args.listen, "Data listener address (port 0: any free port)")
      ->check(tools::hostPortValidator(false))
      ->capture_default_str();
  app.add_option("--advertise", args.advertise,
                 "Address other peers connect to (default: this end of the connection to the "
                 "master, and the listener's port)")
      ->check(tools::hostPortValidator(true));
  tools::addSecurityOptions(app, args.security);
  app.add_option("--tls-data", args.tls_data,
                 "Data channels over TLS: beyond loopback (auto), all (on) or none (off); the "
                 "same on every peer (default: $ECCL_TLS_DATA, else auto)")
      ->check(CLI::IsMember({"auto", "on", "off"}));
  app.add_option("--connections", args.connections, "TCP connections per data channel (K)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  app.add_option("--timeout-ms", args.timeout_ms,
                 "Deadline of each blocking call: joining, each topology update")
      ->check(CLI::Range(1LL, 86'400'000LL))
      ->capture_default_str();
  app.add_flag("--json", args.json,
               "One JSON object per line: {\"t_ns\",\"event\",\"peer\",\"rank\",\"world_size\","
               "\"revision\"}; t_ns is CLOCK_MONOTONIC (std::chrono::steady_clock)");
  app.add_option("--steps", args.steps, "Steps to run after joining (0: until stopped)")
      ->capture_default_str();
  app.add_option("--allreduce-size", args.allreduce_size,
                 "Workload: bytes of f32 to all-reduce every step (e.g. 64M; default none)");
  app.add_option("--step-ms", args.step_ms,
                 "Time between steps; each step settles pending joins and departures")
      ->check(CLI::Range(1LL, 3'600'000LL))
      ->capture_default_str();
  app.add_option("--input-seed", args.input_seed,
                 "Workload inputs: 0 is rank+1 everywhere; another seed varies every element by "
                 "rank, position and revision (small integers: the sums stay exact)")
      ->capture_default_str();
  app.add_option("--state-size", args.state_size,
                 "Workload: bytes of shared state (f32) to sync every step with "
                 "ecclSyncSharedState before the all-reduce (e.g. 1G; default none)");
  app.add_option("--state-entries", args.state_entries, "Entries the shared state is split into")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  app.add_option("--state-seed", args.state_seed,
                 "Content of the shared state: peers with the same seed hold the same bytes")
      ->capture_default_str();
  app.add_flag("--state-receive", args.state_receive,
               "Start from zeros and sync RECEIVE_ONLY until the first sync succeeds (a joiner)");
  app.add_option("--state-every", args.state_every,
                 "Sync the shared state at the steps whose ring revision is a multiple of this "
                 "(about every this many steps; every member agrees which)")
      ->check(CLI::Range(1u, 1'000'000u))
      ->capture_default_str();
  app.add_option("--quant", args.quant,
                 "Quantize the workload's all-reduce on the wire (ALGO:WIRE[:BLOCK], e.g. "
                 "minmax:u8): every element is then checked against the codec's error bound "
                 "instead of exactly");
  app.add_option("--state-fetch-mbit", args.state_fetch_mbit,
                 "With --state-receive: fetch the group's state while pending, paced at this "
                 "many Mbit/s (0: unpaced), before admission (ecclCommConnectWithState)");
  // Hidden: tests kill a peer at a named point of its work (src/comm/communicator.h FaultHook).
  app.add_option("--die-at", args.die_at, "SIGKILL this process at this fault point")
      ->check(CLI::IsMember({"state-serve", "data-complete", "lap-start"}))
      ->group("");
  // Hidden (no group): eccl-stress's test that its parity check catches a bad result.
  app.add_option("--corrupt-step", args.corrupt_step,
                 "Change the result after its check at this step (testing the checkers)")
      ->group("");
  // Hidden: the dashboard's browser test makes a hung peer (heartbeats on, no collective).
  app.add_option("--hang-step", args.hang_step,
                 "At this step, after the update, stop calling collectives until stopped")
      ->group("");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("eccl-peer: an ECCL peer that joins a group and follows its membership");
  app.footer(
      "Lines: admitted, topology (this peer's rank, world size, revision), joined, left, lost, "
      "evicted (the peer named). Exit codes: 0 stopped by SIGINT/SIGTERM (after leaving the "
      "group gracefully) or --steps done, 1 failure, 3 removed from the group by the master.\n"
      "With --allreduce-size every step updates the topology (all peers must run it) and "
      "all-reduces that many bytes of f32, checking every element exactly, and prints a step "
      "line: ok, or failed with the error's code and message (both name the op's revision and "
      "world size); without it the peer only keeps its membership. With --state-size every "
      "step also syncs a shared state and prints a state line (its hash is equal on every peer "
      "after a sync).");
  Arguments args;
  addOptions(app, args);
  CLI11_PARSE(app, argc, argv);

  // Before any thread exists, so that only the sigwait() thread ever sees these signals.
  if (Status blocked = tools::blockShutdownSignals(); !blocked) {
    std::fprintf(stderr, "eccl-peer: %s\n", blocked.toString().c_str());
    return 1;
  }

  tools::peer::PeerDaemonOptions options;
  auto& comm = options.comm;
  const auto master = *parseHostPort(args.master);
  comm.master_host = master.host;
  comm.master_port = master.port;
  comm.group = args.group;
  const auto listen = *parseHostPort(args.listen);
  comm.listen_host = listen.host;
  comm.listen_port = listen.port;
  if (!args.advertise.empty()) {
    const auto advertise = *parseHostPort(args.advertise, true);
    comm.advertise_host = advertise.host;
    comm.advertise_port = advertise.port;
  }
  comm.channel.connections = args.connections;
  auto secret = tools::loadSecret(args.security);
  auto tls = secret ? tools::loadTls(args.security) : secret.status();
  if (!tls) {
    std::fprintf(stderr, "eccl-peer: %s\n", tls.status().message().c_str());
    return 1;
  }
  comm.channel.secret = std::move(*secret);
  comm.channel.tls = std::move(*tls);
  // The communicator reads ECCL_TLS_DATA over its options; set before any thread starts.
  if (!args.tls_data.empty()) ::setenv("ECCL_TLS_DATA", args.tls_data.c_str(), 1);
  comm.timeout = std::chrono::milliseconds(args.timeout_ms);
  options.json = args.json;
  options.steps = args.steps;
  options.step = std::chrono::milliseconds(args.step_ms);
  options.input_seed = args.input_seed;
  options.corrupt_step = args.corrupt_step;
  options.hang_step = args.hang_step;
  if (!args.allreduce_size.empty()) {
    auto bytes = tools::bench::parseSize(args.allreduce_size);
    if (!bytes || *bytes % sizeof(float) != 0) {
      std::fprintf(
          stderr, "eccl-peer: --allreduce-size %s: %s\n", args.allreduce_size.c_str(),
          bytes ? "must be a multiple of 4 bytes (f32)" : bytes.status().message().c_str());
      return 1;
    }
    options.allreduce_bytes = *bytes;
  }
  if (!args.quant.empty()) {
    auto config = tools::parseQuantSpec(args.quant);
    if (!config) {
      std::fprintf(stderr, "eccl-peer: --quant %s\n", config.status().message().c_str());
      return 1;
    }
    options.quant = *config;
  }

  if (!args.state_size.empty()) {
    auto bytes = tools::bench::parseSize(args.state_size);
    if (!bytes || *bytes % sizeof(float) != 0 || *bytes / sizeof(float) < args.state_entries) {
      std::fprintf(stderr, "eccl-peer: --state-size %s: %s\n", args.state_size.c_str(),
                   bytes ? "must be a multiple of 4 bytes (f32), one element per entry at least"
                         : bytes.status().message().c_str());
      return 1;
    }
    options.state_bytes = *bytes;
    options.state_entries = args.state_entries;
    options.state_seed = args.state_seed;
    options.state_receive = args.state_receive;
    options.state_every = args.state_every;
    if (args.state_fetch_mbit) {
      if (!args.state_receive) {
        std::fprintf(stderr, "eccl-peer: --state-fetch-mbit needs --state-receive\n");
        return 1;
      }
      options.state_fetch_bytes_per_s = *args.state_fetch_mbit * 1'000'000 / 8;
    }
  } else if (args.state_fetch_mbit) {
    std::fprintf(stderr, "eccl-peer: --state-fetch-mbit needs --state-size\n");
    return 1;
  }
  if (!args.die_at.empty()) {
    comm.fault_hook = [point = args.die_at](std::string_view at, const EndpointId&) {
      if (at == point) std::raise(SIGKILL);
    };
  }

  tools::peer::PeerDaemon daemon(options);
  tools::ShutdownSignals signals([&daemon](int) { daemon.requestStop(); });
  return daemon.run();
}
