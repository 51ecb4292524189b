// eccl-bench: ECCL benchmarks with comparators measured in the same run.
// This file wires the command line to the benchmarks; each lives in its own file.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <sstream>

#include "src/common/log.h"
#include "tools/common/child_process.h"
#include "tools/eccl-bench/allreduce.h"
#include "tools/eccl-bench/diloco_cli.h"
#include "tools/eccl-bench/netlab_session.h"
#include "tools/eccl-bench/p2p.h"
#include "tools/eccl-bench/size_parse.h"
#include "tools/eccl-bench/state_join.h"
#include "tools/eccl-bench/state_sync.h"

namespace {

using eccl::tools::parseQuantSpec;
using eccl::tools::bench::parseSize;
using eccl::tools::bench::parseSizeList;

// Accepts what parseSize accepts; CLI11 prints the reason otherwise.
const CLI::Validator kSizeValidator(
    [](std::string& text) {
      auto size = parseSize(text);
      return size ? std::string() : size.status().message();
    },
    "SIZE");
const CLI::Validator kSizeListValidator(
    [](std::string& text) {
      auto sizes = parseSizeList(text);
      return sizes ? std::string() : sizes.status().message();
    },
    "SIZE,...");
const CLI::Validator kQuantValidator(
    [](std::string& text) {
      auto config = parseQuantSpec(text);
      return config ? std::string() : config.status().message();
    },
    "ALGO:WIRE[:BLOCK]");

struct P2pArguments {
  std::string size = "256M";
  std::string sizes;
  std::string chunk = "1M";
  int timeout_s = 60;
  eccl::tools::bench::P2pOptions options;
};

CLI::App* addP2p(CLI::App& app, P2pArguments& args) {
  auto* p2p = app.add_subcommand(
      "p2p",
      "Point-to-point throughput of one striped ECCL channel between two processes "
      "(this one sends, a child it starts receives and checks every byte)");
  auto& options = args.options;
  auto* size = p2p->add_option("--size", args.size, "Message size (K/M/G suffixes: binary units)")
                   ->check(kSizeValidator)
                   ->capture_default_str();
  p2p->add_option("--sizes", args.sizes, "Several message sizes, measured in turn: 1M,16M,256M")
      ->check(kSizeListValidator)
      ->excludes(size);
  p2p->add_option("--connections", options.connections, "TCP connections in the channel (K)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  p2p->add_option("--iters", options.iters, "Timed iterations per round")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  p2p->add_option("--warmup", options.warmup, "Untimed iterations before the first round")
      ->check(CLI::Range(0, 1'000'000))
      ->capture_default_str();
  p2p->add_option("--rounds", options.rounds,
                  "Rounds of --iters iterations; with --compare, ECCL and the comparator take "
                  "turns once per round (default: 3 with --compare, else 1)")
      ->check(CLI::Range(1, 1000));
  p2p->add_option("--chunk", args.chunk, "Chunk size (ChannelOptions::chunk_bytes)")
      ->check(kSizeValidator)
      ->capture_default_str();
  p2p->add_option(
         "--notsent-lowat", options.notsent_lowat,
         "Unsent bytes a socket may hold (TCP_NOTSENT_LOWAT; ChannelOptions::notsent_lowat)")
      ->capture_default_str();
  p2p->add_option("--io-threads", options.io_threads,
                  "I/O threads per endpoint, both sides (ChannelOptions::io_threads)")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  p2p->add_option("--transport", options.transport,
                  "ECCL's data transport, both sides: tcp (the default; what iperf3 is held "
                  "against), auto, shm (shared memory between processes of one host) or "
                  "rdma (queue pairs of this machine's RDMA device; TCP, with a warning, "
                  "without one)")
      ->check(CLI::IsMember({"auto", "tcp", "shm", "rdma"}))
      ->capture_default_str();
  p2p->add_flag("--no-hedge{false}", options.hedge,
                "Never re-send a late tail chunk on another connection "
                "(ChannelOptions::hedge_tail_chunks)");
  p2p->add_option("--host", options.host, "Address the receiver listens on")->capture_default_str();
  p2p->add_option("--compare", options.compare,
                  "Also measure a comparator in the same run (same streams and bytes)")
      ->check(CLI::IsMember({"iperf3"}));
  p2p->add_option("--timeout", args.timeout_s,
                  "Seconds any single wait (transfer, ack, child process) may take")
      ->check(CLI::Range(1, 86'400))
      ->capture_default_str();
  p2p->add_flag("--json", options.json, "One JSON object per line instead of a table");
  p2p->add_flag("--verbose", options.verbose,
                "Per-iteration times, channel statistics and info-level ECCL logs on stderr");
  return p2p;
}

// The receiving half of p2p, started by `eccl-bench p2p` itself; hidden from --help.
CLI::App* addP2pReceiver(CLI::App& app, eccl::tools::bench::P2pReceiverOptions& options,
                         long long& timeout_ms) {
  auto* receiver = app.add_subcommand("p2p-receiver", "Receiving process of p2p (internal)");
  receiver->group("");
  receiver->add_option("--size", options.size)->required();
  receiver->add_option("--connections", options.connections)->required();
  receiver->add_option("--chunk", options.chunk_bytes)->required();
  receiver->add_option("--host", options.host)->required();
  receiver->add_option("--iterations", options.iterations)->required();
  receiver->add_option("--seed", options.seed)->required();
  receiver->add_option("--timeout-ms", timeout_ms)->required();
  receiver->add_option("--io-threads", options.io_threads)->required();
  receiver->add_option("--transport", options.transport);
  return receiver;
}

struct AllreduceArguments {
  std::string sizes = "1M,16M,256M";
  std::string dtype = "f32";
  std::string quant;
  int timeout_s = 120;
  int after_idle_ms = 0;
  eccl::tools::bench::AllreduceOptions options;
};

CLI::App* addAllreduce(CLI::App& app, AllreduceArguments& args) {
  auto* cmd = app.add_subcommand(
      "allreduce",
      "Ring all-reduce (in-place sum) of --peers processes on 127.0.0.1, timed as nccl-tests "
      "does (barrier, t0, op, t1; slowest rank; median) and checked exactly");
  auto& options = args.options;
  cmd->add_option("--peers", options.peers, "Peer processes (N)")
      ->check(CLI::Range(2, 64))
      ->capture_default_str();
  cmd->add_option("--sizes", args.sizes,
                  "Buffer sizes, measured in turn (ascending: RSS is a peak)")
      ->check(kSizeListValidator)
      ->capture_default_str();
  cmd->add_option("--dtype", args.dtype, "Element type")
      ->check(CLI::IsMember({"f32"}))
      ->capture_default_str();
  cmd->add_option("--connections", options.connections,
                  "TCP connections per ECCL channel, on every link (K; default: ChannelOptions', "
                  "more on a long link)")
      ->check(CLI::Range(1, 256));
  cmd->add_option("--iters", options.iters, "Timed iterations per size")
      ->check(CLI::Range(1, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--warmup", options.warmup, "Untimed iterations per size")
      ->check(CLI::Range(0, 1'000'000))
      ->capture_default_str();
  cmd->add_option("--compare", options.compare,
                  "Also measure comparators in the same run, a comma list: gloo (Gloo's ring, "
                  "eccl-gloo-allreduce), mpi (Open MPI's MPI_Allreduce over btl tcp, "
                  "eccl-mpi-allreduce under mpirun), eccl-exact (ECCL without --quant: what "
                  "quantization buys), eccl-tls (ECCL with TLS on every connection; needs "
                  "--tls-certs), eccl-tcp (ECCL with ECCL_TRANSPORT=tcp, beside the "
                  "default's shared memory between ranks of one host), mpi-shm (Open MPI "
                  "over btl vader, its shared memory)")
      ->delimiter(',')
      ->check(CLI::IsMember({"gloo", "mpi", "mpi-shm", "eccl-exact", "eccl-tls", "eccl-tcp"}));
  cmd->add_option("--tls-certs", options.tls_certs,
                  "Certificates of the eccl-tls rows: DIR/ca.pem, DIR/bench.pem and "
                  "DIR/bench.key (`eccl-certs ca DIR && eccl-certs host DIR bench`)")
      ->check(CLI::ExistingDirectory);
  cmd->add_option("--rounds", options.rounds,
                  "Rounds; ECCL and each comparator take turns once per round, every round "
                  "in new processes (default: 3 with --compare, else 1)")
      ->check(CLI::Range(1, 1000));
  cmd->add_option("--after-idle", args.after_idle_ms,
                  "Milliseconds every rank idles after each size's timed ops before one more op "
                  "is timed on its own: the first op after idle (0: not measured)")
      ->check(CLI::Range(0, 600'000));
  cmd->add_option("--timeout", args.timeout_s, "Seconds one all-reduce may take")
      ->check(CLI::Range(1, 86'400))
      ->capture_default_str();
  cmd->add_flag("--json", options.json, "One JSON object per (impl, size) instead of a table");
  cmd->add_option("--netlab", options.netlab,
                  "Run every rank in its own network namespace of an emulated network (root; "
                  "eccl-netlab): lan:RATE (a shaped bridge) or wan:RATE:RTT (a delay line), "
                  "e.g. lan:1gbit, wan:1gbit:50ms; adds each row's share of the link");
  cmd->add_option("--quant", args.quant,
                  "Quantize ECCL's all-reduces (the comparators stay exact): ALGO:WIRE[:BLOCK], "
                  "ALGO minmax or zps (zero point and scale), WIRE u8, i8, u16, f16 or bf16, "
                  "BLOCK elements per block (default 1024), e.g. minmax:u8, zps:i8:256. Results "
                  "are checked within the error bound and for equal bytes on every rank; GB/s "
                  "still count the f32 bytes")
      ->check(kQuantValidator);
  return cmd;
}

// One peer of allreduce, started by `eccl-bench allreduce` itself; hidden from --help.
CLI::App* addAllreduceWorker(CLI::App& app, eccl::tools::bench::AllreduceWorkerOptions& options,
                             std::string& sizes, long long& timeout_ms, std::string& quant,
                             long long& after_idle_ms) {
  auto* worker = app.add_subcommand("allreduce-worker", "Peer process of allreduce (internal)");
  worker->group("");
  worker->add_option("--master-host", options.master_host);
  worker->add_option("--master-port", options.master_port)->required();
  worker->add_option("--host", options.host);
  worker->add_option("--peers", options.peers)->required();
  worker->add_option("--sizes", sizes)->required();
  worker->add_option("--connections", options.connections)->required();
  worker->add_option("--iters", options.iters)->required();
  worker->add_option("--warmup", options.warmup)->required();
  worker->add_option("--timeout-ms", timeout_ms)->required();
  worker->add_option("--quant", quant)->check(kQuantValidator);
  worker->add_option("--after-idle-ms", after_idle_ms);
  worker->add_option("--tls-ca", options.tls.ca_file);
  worker->add_option("--tls-cert", options.tls.cert_file);
  worker->add_option("--tls-key", options.tls.key_file);
  worker->add_option("--transport", options.transport);
  return worker;
}

struct StateSyncArguments {
  std::string size = "256M";
  std::string sources = "1,2,3";
  std::string compare;
  int timeout_s = 120;
  eccl::tools::bench::StateSyncOptions options;
};

CLI::App* addStateSync(CLI::App& app, StateSyncArguments& args) {
  auto* cmd = app.add_subcommand(
      "state-sync",
      "Shared-state resync throughput: a RECEIVE_ONLY peer fetches the state from 1, 2, 3... "
      "holders at once (ecclSyncSharedState), optionally against eccl-bench p2p in the same run");
  auto& options = args.options;
  cmd->add_option("--size", args.size, "Bytes of shared state (K/M/G suffixes: binary units)")
      ->check(kSizeValidator)
      ->capture_default_str();
  cmd->add_option("--entries", options.entries, "f32 entries the state is split into")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--sources", args.sources, "Holder counts to measure in turn, e.g. 1,2,3")
      ->capture_default_str();
  cmd->add_option("--connections", options.connections, "TCP connections per channel (K)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--iters", options.iters, "Timed syncs per holder count")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  cmd->add_option("--warmup", options.warmup, "Untimed syncs first")
      ->check(CLI::Range(0, 1000))
      ->capture_default_str();
  cmd->add_option("--compare", args.compare,
                  "Also measure one ECCL channel (eccl-bench p2p, same size and connections)")
      ->check(CLI::IsMember({"p2p"}));
  cmd->add_option("--netlab", options.netlab,
                  "Run in an eccl-netlab lab brought up for the run (root): lan:RATE or "
                  "wan:RATE:RTT; the receiver on host 0, holder i on host i, each host's "
                  "egress shaped to RATE (rows then show the link percentage)");
  cmd->add_option("--timeout", args.timeout_s, "Seconds any single sync may take")
      ->check(CLI::Range(1, 86'400))
      ->capture_default_str();
  cmd->add_flag("--sparse", options.sparse,
                "A state of mostly zeros (1 element in 64 set), which zstd compresses; by default "
                "its bytes are incompressible");
  cmd->add_flag("--json", options.json, "One JSON object per line instead of a table");
  return cmd;
}

// One peer of state-sync, started by `eccl-bench state-sync` itself; hidden from --help.
CLI::App* addStateSyncWorker(CLI::App& app, eccl::tools::bench::StateSyncWorkerOptions& options,
                             long long& timeout_ms) {
  auto* worker = app.add_subcommand("state-sync-worker", "Peer process of state-sync (internal)");
  worker->group("");
  worker->add_option("--master-host", options.master_host);
  worker->add_option("--master-port", options.master_port)->required();
  worker->add_option("--host", options.host);
  worker->add_option("--peers", options.peers)->required();
  worker->add_option("--bytes", options.bytes)->required();
  worker->add_option("--entries", options.entries)->required();
  worker->add_option("--connections", options.connections)->required();
  worker->add_option("--iters", options.iters)->required();
  worker->add_option("--warmup", options.warmup)->required();
  worker->add_option("--timeout-ms", timeout_ms)->required();
  worker->add_flag("--receiver", options.receiver);
  worker->add_flag("--sparse", options.sparse);
  return worker;
}

struct StateJoinArguments {
  std::string size = "1G";
  std::string step_size = "16M";
  uint64_t fetch_mbit = 300;
  double joiner_delay_s = 30;
  int timeout_s = 300;
  eccl::tools::bench::StateJoinOptions options;
};

CLI::App* addStateJoin(CLI::App& app, StateJoinArguments& args) {
  auto* cmd = app.add_subcommand(
      "state-join",
      "What a joiner's background state fetch (ecclCommConnectWithState) costs the members: "
      "their all-reduce step time before and during the fetch");
  auto& options = args.options;
  cmd->add_option("--size", args.size, "Bytes of shared state (K/M/G suffixes: binary units)")
      ->check(kSizeValidator)
      ->capture_default_str();
  cmd->add_option("--entries", options.entries, "f32 entries the state is split into")
      ->check(CLI::Range(1, 4096))
      ->capture_default_str();
  cmd->add_option("--members", options.members, "Members training when the joiner comes")
      ->check(CLI::Range(2, 64))
      ->capture_default_str();
  cmd->add_option("--step-size", args.step_size, "Bytes each all-reduce step moves")
      ->check(kSizeValidator)
      ->capture_default_str();
  cmd->add_option("--steps-per-round", options.steps_per_round, "All-reduce steps between syncs")
      ->check(CLI::Range(1, 100'000))
      ->capture_default_str();
  cmd->add_option("--fetch-mbit", args.fetch_mbit,
                  "The fetch's pace in Mbit/s, all sources together (0: unpaced)")
      ->capture_default_str();
  cmd->add_option("--joiner-delay", args.joiner_delay_s,
                  "Seconds before the joiner starts (the baseline steps run meanwhile)")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  cmd->add_option("--connections", options.connections, "TCP connections per channel (K)")
      ->check(CLI::Range(1, 256))
      ->capture_default_str();
  cmd->add_option("--netlab", options.netlab,
                  "Run in an eccl-netlab lab brought up for the run (root): lan:RATE or "
                  "wan:RATE:RTT; member i on host i, the joiner on the last host");
  cmd->add_option("--timeout", args.timeout_s, "Seconds any single call may take")
      ->check(CLI::Range(1, 86'400))
      ->capture_default_str();
  cmd->add_flag("--json", options.json, "One JSON object per line instead of a table");
  return cmd;
}

CLI::App* addStateJoinWorker(CLI::App& app, eccl::tools::bench::StateJoinWorkerOptions& options,
                             long long& delay_ms, long long& timeout_ms) {
  auto* worker = app.add_subcommand("state-join-worker", "Peer process of state-join (internal)");
  worker->group("");
  worker->add_option("--master-host", options.master_host);
  worker->add_option("--master-port", options.master_port)->required();
  worker->add_option("--host", options.host);
  worker->add_option("--members", options.members)->required();
  worker->add_option("--bytes", options.bytes)->required();
  worker->add_option("--entries", options.entries)->required();
  worker->add_option("--step-bytes", options.step_bytes)->required();
  worker->add_option("--steps-per-round", options.steps_per_round)->required();
  worker->add_option("--fetch-rate", options.fetch_bytes_per_s)->required();
  worker->add_option("--joiner-delay-ms", delay_ms)->required();
  worker->add_option("--connections", options.connections)->required();
  worker->add_option("--timeout-ms", timeout_ms)->required();
  worker->add_flag("--joiner", options.joiner);
  return worker;
}

// What mpirun runs in place of ssh inside a lab (netlab_session.h); hidden.
CLI::App* addNetnsRsh(CLI::App& app, std::string& prefix, std::string& session_dirs) {
  auto* rsh = app.add_subcommand("netns-rsh", "Enter a lab host for mpirun (internal)");
  rsh->group("");
  rsh->add_option("--prefix", prefix)->required();
  rsh->add_option("--session-dirs", session_dirs);
  // HOST and the command: everything after the options, verbatim.
  rsh->prefix_command();
  return rsh;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("eccl-bench: ECCL benchmarks, with comparators measured in the same run");
  app.require_subcommand(1);
  P2pArguments p2p_args;
  eccl::tools::bench::P2pReceiverOptions receiver_options;
  long long receiver_timeout_ms = 0;
  CLI::App* p2p = addP2p(app, p2p_args);
  CLI::App* receiver = addP2pReceiver(app, receiver_options, receiver_timeout_ms);
  AllreduceArguments allreduce_args;
  CLI::App* allreduce = addAllreduce(app, allreduce_args);
  eccl::tools::bench::AllreduceWorkerOptions worker_options;
  std::string worker_sizes;
  long long worker_timeout_ms = 0;
  long long worker_after_idle_ms = 0;
  std::string worker_quant;
  CLI::App* worker = addAllreduceWorker(app, worker_options, worker_sizes, worker_timeout_ms,
                                        worker_quant, worker_after_idle_ms);
  StateSyncArguments state_args;
  CLI::App* state_sync = addStateSync(app, state_args);
  eccl::tools::bench::StateSyncWorkerOptions state_worker_options;
  long long state_worker_timeout_ms = 0;
  CLI::App* state_worker = addStateSyncWorker(app, state_worker_options, state_worker_timeout_ms);
  StateJoinArguments join_args;
  CLI::App* state_join = addStateJoin(app, join_args);
  eccl::tools::bench::StateJoinWorkerOptions join_worker_options;
  long long join_worker_delay_ms = 0;
  long long join_worker_timeout_ms = 0;
  CLI::App* join_worker =
      addStateJoinWorker(app, join_worker_options, join_worker_delay_ms, join_worker_timeout_ms);
  eccl::tools::bench::DilocoCommands diloco(app);
  std::string rsh_prefix;
  std::string rsh_session_dirs;
  CLI::App* rsh = addNetnsRsh(app, rsh_prefix, rsh_session_dirs);
  CLI11_PARSE(app, argc, argv);
  if (*rsh) return eccl::tools::bench::runNetnsRsh(rsh_prefix, rsh_session_dirs, rsh->remaining());

  // Children (receivers, comparators) die with this process, whatever ends it.
  eccl::tools::installChildCleanupOnSignals();

  if (diloco.chosen()) return diloco.run();
  if (*receiver) {
    receiver_options.timeout = std::chrono::milliseconds(receiver_timeout_ms);
    return eccl::tools::bench::runP2pReceiver(receiver_options);
  }
  if (*worker) {
    auto sizes = parseSizeList(worker_sizes);
    if (!sizes) return 2;
    worker_options.sizes = *sizes;
    worker_options.timeout = std::chrono::milliseconds(worker_timeout_ms);
    worker_options.after_idle = std::chrono::milliseconds(worker_after_idle_ms);
    if (!worker_quant.empty()) worker_options.quant = *parseQuantSpec(worker_quant);
    return eccl::tools::bench::runAllreduceWorker(worker_options);
  }
  if (*state_worker) {
    state_worker_options.timeout = std::chrono::milliseconds(state_worker_timeout_ms);
    return eccl::tools::bench::runStateSyncWorker(state_worker_options);
  }
  if (*join_worker) {
    join_worker_options.joiner_delay = std::chrono::milliseconds(join_worker_delay_ms);
    join_worker_options.timeout = std::chrono::milliseconds(join_worker_timeout_ms);
    return eccl::tools::bench::runStateJoinWorker(join_worker_options);
  }
  if (*state_join) {
    auto& options = join_args.options;
    options.bytes = *parseSize(join_args.size);
    options.step_bytes = *parseSize(join_args.step_size);
    if (options.bytes / sizeof(float) < options.entries || options.step_bytes < sizeof(float)) {
      std::fprintf(stderr, "eccl-bench state-join: --size or --step-size below one f32 each\n");
      return 2;
    }
    options.fetch_bytes_per_s = join_args.fetch_mbit * 1'000'000 / 8;
    options.joiner_delay =
        std::chrono::milliseconds(static_cast<int64_t>(join_args.joiner_delay_s * 1000));
    options.timeout = std::chrono::seconds(join_args.timeout_s);
    return eccl::tools::bench::runStateJoin(options);
  }
  if (*state_sync) {
    auto& options = state_args.options;
    options.bytes = *parseSize(state_args.size);
    if (options.bytes / sizeof(float) < options.entries) {
      std::fprintf(stderr, "eccl-bench state-sync: --size is below one f32 per entry\n");
      return 2;
    }
    options.sources.clear();
    std::istringstream list(state_args.sources);
    for (std::string item; std::getline(list, item, ',');) {
      int sources = 0;
      if (std::sscanf(item.c_str(), "%d", &sources) != 1 || sources < 1 || sources > 64) {
        std::fprintf(stderr, "eccl-bench state-sync: --sources: '%s' is not 1..64\n", item.c_str());
        return 2;
      }
      options.sources.push_back(sources);
    }
    options.compare_p2p = state_args.compare == "p2p";
    options.timeout = std::chrono::seconds(state_args.timeout_s);
    return eccl::tools::bench::runStateSync(options);
  }
  if (*allreduce) {
    auto& options = allreduce_args.options;
    options.sizes = *parseSizeList(allreduce_args.sizes);
    options.timeout = std::chrono::seconds(allreduce_args.timeout_s);
    options.after_idle = std::chrono::milliseconds(allreduce_args.after_idle_ms);
    if (!allreduce_args.quant.empty()) options.quant = *parseQuantSpec(allreduce_args.quant);
    if (allreduce->count("--rounds") == 0) options.rounds = options.compare.empty() ? 1 : 3;
    return eccl::tools::bench::runAllreduce(options);
  }
  if (*p2p) {
    auto& options = p2p_args.options;
    if (options.verbose && std::getenv("ECCL_LOG") == nullptr) {
      eccl::log::setLevel(spdlog::level::info);
    }
    options.sizes = p2p_args.sizes.empty() ? std::vector<uint64_t>{*parseSize(p2p_args.size)}
                                           : *parseSizeList(p2p_args.sizes);
    const uint64_t chunk = *parseSize(p2p_args.chunk);
    if (chunk > UINT32_MAX) {
      std::fprintf(stderr, "eccl-bench p2p: --chunk must be below 4 GiB\n");
      return 2;
    }
    options.chunk_bytes = static_cast<uint32_t>(chunk);
    options.timeout = std::chrono::seconds(p2p_args.timeout_s);
    if (p2p->count("--rounds") == 0) options.rounds = options.compare.empty() ? 1 : 3;
    return eccl::tools::bench::runP2p(options);
  }
  return 2;
}
