// eccl-stress: a churn and fault soak. It starts an eccl-master and N eccl-peer
// trainers (every step a topology update and an exactly checked all-reduce),
// kills, freezes, adds and stops peers on a seeded schedule, and checks every
// step line: ok on every peer, the same result hash on every peer at each op,
// and no running peer without a step for longer than the detection bound.
#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "tools/common/child_process.h"
#include "tools/common/quant_spec.h"
#include "tools/eccl-bench/netlab_session.h"
#include "tools/eccl-bench/size_parse.h"
#include "tools/eccl-stress/soak.h"
#include "transport/fault_spec.h"

namespace {

using namespace eccl;
using namespace eccl::tools::stress;

struct Arguments {
  int peers = 4;
  int max_peers = 0;
  double duration_s = 60;
  uint64_t seed = 1;
  FaultRates rates;
  std::string size = "1M";
  long long step_ms = 50;
  long long straggler_ms = 0;
  long long op_timeout_ms = 5000;
  double progress_s = 5;
  bool json = false;
  std::string logs;
  std::string link_faults;
  std::string netlab;
  std::vector<std::string> slow_links;
  std::vector<std::string> master_args;
  std::string state_size;
  uint32_t state_every = 5;
  std::string quant;
  uint64_t corrupt_step = 0;
};

// Where the run's own log directory goes: --logs, else $TMPDIR, else /tmp.
std::string logsParent(const std::string& logs) {
  if (!logs.empty()) return logs;
  const char* tmpdir = std::getenv("TMPDIR");
  return tmpdir != nullptr && *tmpdir != '\0' ? tmpdir : "/tmp";
}

void addOptions(CLI::App& app, Arguments& args) {
  app.add_option("--peers", args.peers, "Peers at the start")
      ->check(CLI::Range(2, 30))
      ->capture_default_str();
  app.add_option("--max-peers", args.max_peers, "Most peers at once (default: twice --peers)")
      ->check(CLI::Range(2, 60));
  app.add_option("--duration", args.duration_s, "Seconds of training under faults")
      ->check(CLI::Range(0.1, 86'400.0))
      ->capture_default_str();
  app.add_option("--seed", args.seed, "Seed of the fault schedule and of the inputs")
      ->capture_default_str();
  app.add_option("--kill-rate", args.rates.kill, "SIGKILLs of a random peer per second")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--hang-rate", args.rates.hang,
                 "SIGSTOPs of a random peer per second (each later SIGCONTed or SIGKILLed)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--join-rate", args.rates.join, "New peers per second")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--leave-rate", args.rates.leave,
                 "Graceful leaves (SIGTERM) of a random peer per second")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--size", args.size, "Bytes of f32 every step all-reduces (e.g. 1M)")
      ->capture_default_str();
  app.add_option("--step-ms", args.step_ms, "Pause between a peer's steps")
      ->check(CLI::Range(1LL, 60'000LL))
      ->capture_default_str();
  app.add_option("--straggler-ms", args.straggler_ms,
                 "Peer 0 pauses this much longer between its steps than the others (a "
                 "compute-slow node, for the master's straggler detector)")
      ->check(CLI::Range(0LL, 60'000LL));
  app.add_option("--op-timeout-ms", args.op_timeout_ms,
                 "Each peer's deadline for joining, each update and each op")
      ->check(CLI::Range(100LL, 600'000LL))
      ->capture_default_str();
  app.add_option("--progress-s", args.progress_s, "Seconds between progress lines")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--link-faults", args.link_faults,
                 "ECCL_FAULTS rules every peer's data plane suffers (e.g. "
                 "\"drop_conn:p=0.001;corrupt:p=0.001;delay:ms=100,p=0.01\"), with frame "
                 "checksums on; the checks must still find no wrong result");
  app.add_option("--state-size", args.state_size,
                 "Bytes of shared state (f32) every peer syncs with ecclSyncSharedState every "
                 "--state-every steps (joiners start from zeros); every sync's hash is compared "
                 "across peers (default none)");
  app.add_option("--state-every", args.state_every, "Steps between shared-state syncs")
      ->check(CLI::Range(1u, 1'000'000u))
      ->capture_default_str();
  app.add_option("--quant", args.quant,
                 "Quantize every all-reduce on the wire (ALGO:WIRE[:BLOCK], e.g. minmax:u8): "
                 "results are checked against the codec's error bound, hashes across peers");
  app.add_option("--netlab", args.netlab,
                 "Run in an eccl-netlab lab brought up for the run (root): lan:RATE or "
                 "wan:RATE:RTT, e.g. wan:1gbit:50ms; the master in host 0, each peer in the host "
                 "with the fewest running peers (as many hosts as --max-peers)");
  app.add_option("--slow-link", args.slow_links,
                 "With --netlab lan:RATE: traffic between lab hosts A and B at a lower rate "
                 "(A-B:RATE, repeatable: eccl-netlab up --slow-link)");
  app.add_option("--master-arg", args.master_args,
                 "An argument for the soak's eccl-master, e.g. --master-arg=--hung-ms=2000 "
                 "(repeatable); the summary counts the anomalies it finds")
      ->allow_extra_args(false);
  app.add_flag("--json", args.json, "Print the summary as one JSON object on the last line");
  app.add_option("--logs", args.logs,
                 "Directory in which the run's log directory (the master's and every peer's "
                 "stderr) is made; default $TMPDIR or /tmp")
      ->check(CLI::ExistingDirectory);
  // Hidden (no group): the test that the parity check catches a corrupted result.
  app.add_option("--corrupt-step", args.corrupt_step,
                 "Peer 0 changes its result after its own check at this step")
      ->group("");
}

// The directory of this executable: eccl-master and eccl-peer are built next to it.
std::string binaryDirectory() {
  std::error_code error;
  const auto self = std::filesystem::read_symlink(tools::kSelfExecutable, error);
  return error ? std::string(".") : self.parent_path().string();
}

// The lab of --netlab, up until the soak ends; its ceiling printed beside the soak.
Result<std::unique_ptr<tools::bench::NetlabSession>> openLab(
    const std::string& spec, int hosts, const std::vector<std::string>& slow_links) {
  auto lab = tools::bench::openNetlab(spec, hosts, slow_links);
  if (!lab) return lab.status();
  constexpr int kStreams = 8;
  constexpr int kSeconds = 3;
  if (Status measured = (*lab)->measureCeiling(kStreams, kSeconds); !measured) return measured;
  const auto& ceiling = (*lab)->ceiling();
  std::printf(
      "eccl-stress: lab %s, %d hosts; ceiling (iperf3, %d streams each way): %.3f / %.3f "
      "Gbit/s\n",
      spec.c_str(), hosts, kStreams, ceiling.forward_gbps, ceiling.backward_gbps);
  return lab;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("eccl-stress: a churn and fault soak of ECCL peers with parity checks");
  app.footer(
      "Exit codes: 0 passed, 1 a parity failure, wrong result, crash or stuck peer, 2 it could "
      "not run. Logs of the master and the peers are kept (path printed) when a check fails.");
  Arguments args;
  addOptions(app, args);
  CLI11_PARSE(app, argc, argv);

  StressOptions options;
  options.peers = args.peers;
  options.max_peers = args.max_peers;
  if (options.max_peers != 0 && options.max_peers < options.peers) {
    std::fprintf(stderr, "eccl-stress: --max-peers must be at least --peers\n");
    return 2;
  }
  options.duration = std::chrono::milliseconds(static_cast<int64_t>(args.duration_s * 1000));
  options.seed = args.seed;
  options.rates = args.rates;
  auto bytes = tools::bench::parseSize(args.size);
  if (!bytes || *bytes == 0 || *bytes % sizeof(float) != 0) {
    std::fprintf(
        stderr, "eccl-stress: --size %s: %s\n", args.size.c_str(),
        bytes ? "must be a positive multiple of 4 bytes (f32)" : bytes.status().message().c_str());
    return 2;
  }
  options.size_bytes = *bytes;
  if (!args.state_size.empty()) {
    auto state = tools::bench::parseSize(args.state_size);
    if (!state || *state == 0 || *state % (4 * sizeof(float)) != 0) {
      std::fprintf(stderr, "eccl-stress: --state-size %s: %s\n", args.state_size.c_str(),
                   state ? "must be a positive multiple of 16 bytes (4 entries of f32)"
                         : state.status().message().c_str());
      return 2;
    }
    options.state_bytes = *state;
  }
  options.state_every = args.state_every;
  if (!args.quant.empty()) {
    if (auto config = tools::parseQuantSpec(args.quant); !config) {
      std::fprintf(stderr, "eccl-stress: --quant %s\n", config.status().message().c_str());
      return 2;
    }
    options.quant = args.quant;
  }
  options.step = std::chrono::milliseconds(args.step_ms);
  options.straggler_extra = std::chrono::milliseconds(args.straggler_ms);
  options.detection.op_timeout = std::chrono::milliseconds(args.op_timeout_ms);
  options.progress_every = std::chrono::milliseconds(static_cast<int64_t>(args.progress_s * 1000));
  options.json = args.json;
  options.master_args = args.master_args;
  if (!args.slow_links.empty() && args.netlab.empty()) {
    std::fprintf(stderr, "eccl-stress: --slow-link needs --netlab lan:RATE\n");
    return 2;
  }
  options.corrupt_step = args.corrupt_step;
  if (!args.link_faults.empty()) {
    // The peers inherit the environment: each reads it when it creates its communicator.
    auto spec = transport::parseFaultSpec(args.link_faults);
    if (!spec) {
      std::fprintf(stderr, "eccl-stress: --link-faults: %s\n", spec.status().message().c_str());
      return 2;
    }
    setenv("ECCL_FAULTS", args.link_faults.c_str(), 1);
    setenv("ECCL_CHECKSUM", "on", 1);
    std::printf("eccl-stress: link faults %s, frame checksums on\n", spec->toString().c_str());
  }

  // Ctrl-C or a SIGTERM kills every peer and the master before this process dies.
  tools::installChildCleanupOnSignals();
  std::unique_ptr<tools::bench::NetlabSession> lab;
  if (!args.netlab.empty()) {
    const int hosts = options.max_peers > 0 ? options.max_peers : 2 * options.peers;
    auto opened = openLab(args.netlab, hosts, args.slow_links);
    if (!opened) {
      std::fprintf(stderr, "eccl-stress: --netlab: %s\n", opened.status().toString().c_str());
      return 2;
    }
    lab = std::move(*opened);
  }
  std::string work_dir = logsParent(args.logs) + "/eccl-stress.XXXXXX";
  if (mkdtemp(work_dir.data()) == nullptr) {
    std::perror("eccl-stress: mkdtemp");
    return 2;
  }
  const Detection& detection = options.detection;
  std::printf(
      "eccl-stress: seed %llu, %d peers, %.1f s, %llu bytes every %lld ms; per second: kill %g, "
      "hang %g, join %g, leave %g; stuck bound %lld ms (heartbeat %lld ms x miss limit %d + op "
      "timeout %lld ms + margin %lld ms)\n",
      static_cast<unsigned long long>(options.seed), options.peers, args.duration_s,
      static_cast<unsigned long long>(options.size_bytes), args.step_ms, options.rates.kill,
      options.rates.hang, options.rates.join, options.rates.leave,
      static_cast<long long>(detection.stuckBound().count()),
      static_cast<long long>(detection.heartbeat.count()), detection.miss_limit,
      static_cast<long long>(detection.op_timeout.count()),
      static_cast<long long>(detection.margin.count()));

  Soak soak(options, binaryDirectory(), work_dir, lab.get());
  const int code = soak.run();
  std::error_code ignored;
  if (code == 0) {
    std::filesystem::remove_all(work_dir, ignored);
  } else {
    std::fprintf(stderr, "eccl-stress: logs kept in %s\n", work_dir.c_str());
  }
  return code;
}
