// `eccl-bench allreduce`: starts a master on a thread of this process and N
// worker processes, reads the rows rank 0 prints, then does the same with each
// comparator (Gloo, Open MPI), once per round, and prints them with the ratios.
#include "tools/eccl-bench/allreduce.h"

#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <thread>
#include <utility>

#include "src/membership/master_server.h"
#include "src/membership/peer_token.h"
#include "tools/common/child_process.h"
#include "tools/eccl-bench/allreduce_stats.h"
#include "tools/eccl-bench/master_thread.h"
#include "tools/eccl-bench/netlab_session.h"
#include "tools/eccl-bench/size_parse.h"

namespace eccl::tools::bench {
namespace {

constexpr int kCeilingStreams = 8;
constexpr int kCeilingSeconds = 5;

std::string joinSizes(const std::vector<uint64_t>& sizes) {
  std::string text;
  for (uint64_t size : sizes) {
    if (!text.empty()) text += ',';
    text += std::to_string(size);
  }
  return text;
}

// A private directory under /tmp, removed with everything in it.
class TempDir {
 public:
  explicit TempDir(const std::string& name) {
    std::string pattern = "/tmp/" + name + ".XXXXXX";
    if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    if (ok()) std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  bool ok() const { return !path_.empty(); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// Rank i runs argv: here, or inside host i's namespace of the lab.
void place(SpawnOptions& spawn, const NetlabSession* lab, int rank, std::vector<std::string> argv) {
  if (lab == nullptr) {
    spawn.argv = std::move(argv);
    return;
  }
  spawn.program = findOnPath("ip");
  spawn.argv = lab->inside(rank, std::move(argv));
}

std::string hostOf(const NetlabSession* lab, int rank) {
  return lab != nullptr ? lab->addressOf(rank) : "127.0.0.1";
}

// Runs the processes to the end; the rows any of them printed (only rank 0 does).
Result<std::vector<AllreduceRow>> runPeers(std::vector<SpawnOptions> spawns,
                                           std::chrono::milliseconds timeout) {
  auto outputs = runChildren(std::move(spawns), timeout);
  if (!outputs) return outputs.status();
  std::vector<AllreduceRow> rows;
  for (const std::string& output : *outputs) {
    for (const auto& json : benchRows(output, "allreduce")) {
      AllreduceRow row;
      row.impl = json.value("impl", "");
      row.peers = json.value("peers", 0);
      row.bytes = json.value("bytes", uint64_t{0});
      row.iters = json.value("iters", 0);
      row.time_s = json.value("time_s", 0.0);
      row.algbw_gbs = json.value("algbw_gbs", 0.0);
      row.busbw_gbs = json.value("busbw_gbs", 0.0);
      row.cpu_s_per_gb = json.value("cpu_s_per_gb", 0.0);
      row.rss_mib = json.value("rss_mib", 0.0);
      row.ok = json.value("ok", false);
      row.quant = json.value("quant", "");
      row.after_idle_s = json.value("after_idle_s", 0.0);
      row.inflight_mib = json.value("inflight_mib", 0.0);
      row.inflight_max_mib = json.value("inflight_max_mib", 0.0);
      rows.push_back(row);
    }
  }
  return rows;
}

// The options every implementation's ranks take.
std::vector<std::string> rankArguments(const AllreduceOptions& options) {
  std::vector<std::string> args = {"--peers",      std::to_string(options.peers),
                                   "--sizes",      joinSizes(options.sizes),
                                   "--iters",      std::to_string(options.iters),
                                   "--warmup",     std::to_string(options.warmup),
                                   "--timeout-ms", std::to_string(options.timeout.count())};
  if (options.after_idle.count() > 0) {
    args.insert(args.end(), {"--after-idle-ms", std::to_string(options.after_idle.count())});
  }
  return args;
}

std::vector<std::string> concat(std::vector<std::string> front,
                                const std::vector<std::string>& back) {
  front.insert(front.end(), back.begin(), back.end());
  return front;
}

Result<std::vector<AllreduceRow>> runEccl(const AllreduceOptions& options,
                                          std::chrono::milliseconds timeout,
                                          const NetlabSession* lab) {
  std::shared_ptr<const transport::tls::TlsContext> tls;
  if (options.tls) {
    auto loaded = transport::tls::TlsContext::load(*options.tls);
    if (!loaded) return loaded.status().withContext("--tls-certs");
    tls = std::move(*loaded);
  }
  auto master = MasterThread::start(lab, 0, tls);
  if (!master) return master.status();
  std::vector<SpawnOptions> spawns(options.peers);
  for (int i = 0; i < options.peers; ++i) {
    spawns[i].program = kSelfExecutable;
    spawns[i].name = "eccl worker " + std::to_string(i);
    place(spawns[i], lab, i,
          concat({selfPath(), "allreduce-worker", "--master-host", hostOf(lab, 0), "--master-port",
                  std::to_string((*master)->port()), "--host", hostOf(lab, i), "--connections",
                  std::to_string(options.connections)},
                 rankArguments(options)));
    // Only ECCL's ranks quantize: the comparators measure the exact sum.
    if (options.quant) {
      spawns[i].argv.insert(spawns[i].argv.end(), {"--quant", quantSpecText(*options.quant)});
    }
    if (options.tls) {
      spawns[i].argv.insert(spawns[i].argv.end(),
                            {"--tls-ca", options.tls->ca_file, "--tls-cert", options.tls->cert_file,
                             "--tls-key", options.tls->key_file});
    }
    if (!options.transport.empty()) {
      spawns[i].argv.insert(spawns[i].argv.end(), {"--transport", options.transport});
    }
  }
  return runPeers(std::move(spawns), timeout);
}

Result<std::vector<AllreduceRow>> runGloo(const AllreduceOptions& options,
                                          std::chrono::milliseconds timeout,
                                          const NetlabSession* lab) {
  const std::string program = besideSelf("eccl-gloo-allreduce");
  TempDir store_dir("eccl-bench-gloo");
  if (!store_dir.ok()) return systemError("mkdtemp failed");
  const std::string& store = store_dir.path();
  std::vector<SpawnOptions> spawns(options.peers);
  for (int i = 0; i < options.peers; ++i) {
    spawns[i].program = program;
    spawns[i].name = "gloo rank " + std::to_string(i);
    place(spawns[i], lab, i,
          concat({program, "--rank", std::to_string(i), "--store", store, "--host", hostOf(lab, i)},
                 rankArguments(options)));
  }
  return runPeers(std::move(spawns), timeout);
}

// One mpirun for all ranks, not bound to cores (as ECCL's and Gloo's are
// not): TCP only, for the data (no shared memory, no UCX) and for mpirun's own
// out-of-band traffic, over loopback or, in a lab, over the lab's addresses.
// In a lab each host is an MPI node: mpirun runs in host 0's namespace and
// starts its daemons on the others through `eccl-bench netns-rsh` (in place
// of ssh), which enters the host's namespace.
Result<std::vector<AllreduceRow>> runMpiOver(const std::string& btl,
                                             const AllreduceOptions& options,
                                             std::chrono::milliseconds timeout,
                                             const NetlabSession* lab) {
  std::string networks = "127.0.0.1/8";
  std::vector<std::string> argv = {findOnPath("mpirun"), "--allow-run-as-root", "--oversubscribe",
                                   "--bind-to", "none"};
  TempDir hosts_dir("eccl-bench-mpi");
  if (lab != nullptr) {
    // Open MPI wants the lab's network itself here: with one /32 per host
    // it takes its own daemons' connections for strangers.
    networks = lab->subnet();
    std::string hosts;
    for (int i = 0; i < options.peers; ++i)
      hosts += lab->addressOf(i) + " slots=1\n";
    if (!hosts_dir.ok()) return systemError("mkdtemp failed");
    const std::string hostfile = hosts_dir.path() + "/hosts";
    if (FILE* f = std::fopen(hostfile.c_str(), "w")) {
      std::fputs(hosts.c_str(), f);
      std::fclose(f);
    } else {
      return systemError("cannot write " + hostfile);
    }
    argv = concat(std::move(argv), {"--hostfile", hostfile, "--mca", "plm_rsh_agent",
                                    selfPath() + " netns-rsh --prefix " + lab->prefix() +
                                        " --session-dirs " + hosts_dir.path()});
  }
  const std::pair<std::string, std::string> mca[] = {
      {"btl", btl},
      {"btl_tcp_if_include", networks},
      {"oob_tcp_if_include", networks},
      {"pml", "ob1"},
      {"osc", "^ucx"},
      // mpirun and its daemons map the hwloc topology at a fixed address in
      // the "biggest" hole of their address space to share it with the ranks;
      // orted crashed once writing it there (SIGSEGV in
      // hwloc_shmem_topology_write). The ranks discover the topology
      // themselves without it, at no cost to what is measured.
      {"rtc_hwloc_vmhole", "none"},
  };
  for (const auto& [name, value] : mca)
    argv.insert(argv.end(), {"--mca", name, value});
  argv = concat(concat(std::move(argv),
                       {"-np", std::to_string(options.peers), besideSelf("eccl-mpi-allreduce")}),
                rankArguments(options));
  SpawnOptions spawn;
  spawn.name = "mpirun";
  spawn.program = argv.front();
  place(spawn, lab, 0, std::move(argv));
  return runPeers({spawn}, timeout);
}

Result<std::vector<AllreduceRow>> runMpi(const AllreduceOptions& options,
                                         std::chrono::milliseconds timeout,
                                         const NetlabSession* lab) {
  return runMpiOver("tcp,self", options, timeout, lab);
}

// Open MPI's shared-memory transport between ranks of one host (vader), the
// figure ECCL over shared memory is held against.
Result<std::vector<AllreduceRow>> runMpiShm(const AllreduceOptions& options,
                                            std::chrono::milliseconds timeout,
                                            const NetlabSession* lab) {
  auto rows = runMpiOver("vader,self", options, timeout, lab);
  if (rows) {
    for (auto& row : *rows)
      row.impl = "mpi-shm";
  }
  return rows;
}

struct Impl {
  const char* name;     // --compare's value and the rows' impl
  const char* label;    // for progress lines
  const char* program;  // the comparator built next to eccl-bench, if any
  const char* package;  // the Debian package whose absence leaves it unbuilt
  Result<std::vector<AllreduceRow>> (*run)(const AllreduceOptions&, std::chrono::milliseconds,
                                           const NetlabSession*);
};

constexpr Impl kEccl{"eccl", "ECCL", nullptr, nullptr, runEccl};
// ECCL without --quant, beside a quantized run: what quantization buys.
Result<std::vector<AllreduceRow>> runEcclExact(const AllreduceOptions& options,
                                               std::chrono::milliseconds timeout,
                                               const NetlabSession* lab) {
  AllreduceOptions exact = options;
  exact.quant.reset();
  auto rows = runEccl(exact, timeout, lab);
  if (rows) {
    for (auto& row : *rows)
      row.impl = "eccl-exact";
  }
  return rows;
}

// ECCL with TLS on every connection (the --tls-certs certificates), beside plaintext ECCL.
Result<std::vector<AllreduceRow>> runEcclTls(const AllreduceOptions& options,
                                             std::chrono::milliseconds timeout,
                                             const NetlabSession* lab) {
  AllreduceOptions tls = options;
  const std::string& dir = options.tls_certs;
  tls.tls = transport::tls::TlsFiles{dir + "/ca.pem", dir + "/bench.pem", dir + "/bench.key"};
  auto rows = runEccl(tls, timeout, lab);
  if (rows) {
    for (auto& row : *rows)
      row.impl = "eccl-tls";
  }
  return rows;
}

// ECCL with ECCL_TRANSPORT=tcp beside ECCL's default, which uses shared
// memory between ranks of one host: what the shared-memory transport buys
// (on the network lab's hosts both are TCP).
Result<std::vector<AllreduceRow>> runEcclTcp(const AllreduceOptions& options,
                                             std::chrono::milliseconds timeout,
                                             const NetlabSession* lab) {
  AllreduceOptions tcp = options;
  tcp.transport = "tcp";
  auto rows = runEccl(tcp, timeout, lab);
  if (rows) {
    for (auto& row : *rows)
      row.impl = "eccl-tcp";
  }
  return rows;
}

constexpr Impl kComparators[] = {
    {"eccl-exact", "ECCL exact", nullptr, nullptr, runEcclExact},
    {"eccl-tls", "ECCL over TLS", nullptr, nullptr, runEcclTls},
    {"gloo", "Gloo ring", "eccl-gloo-allreduce", "libgloo-dev", runGloo},
    {"eccl-tcp", "ECCL over TCP", nullptr, nullptr, runEcclTcp},
    {"mpi", "Open MPI (btl tcp)", "eccl-mpi-allreduce", "libopenmpi-dev", runMpi},
    {"mpi-shm", "Open MPI (btl vader)", "eccl-mpi-allreduce", "libopenmpi-dev", runMpiShm},
};

// Why a comparator cannot run here, naming what to install; empty if it can.
std::string missingComparator(const Impl& impl, const AllreduceOptions& options) {
  if (std::string_view(impl.name) == "eccl-tls" && options.tls_certs.empty()) {
    return "needs --tls-certs DIR (`eccl-certs ca DIR && eccl-certs host DIR bench`)";
  }
  if (impl.program == nullptr) return "";  // ECCL itself
  if (besideSelf(impl.program).empty()) {
    return std::string("the comparator ") + impl.program + " was not built (" + impl.package +
           " was not found when eccl-bench was configured: install it and reconfigure)";
  }
  if (std::string_view(impl.name).starts_with("mpi") && findOnPath("mpirun").empty()) {
    return "mpirun is not on PATH (install openmpi-bin)";
  }
  return "";
}

// One row from every round's row of one (impl, size): the median of the
// rounds' median times, CPU averaged over all iterations, the largest RSS.
AllreduceRow combineRounds(const std::vector<AllreduceRow>& rounds) {
  AllreduceRow row = rounds.front();
  std::vector<double> times;
  std::vector<double> after_idle;
  std::vector<double> inflight;
  double cpu = 0;
  row.iters = 0;
  for (const auto& round : rounds) {
    times.push_back(round.time_s);
    after_idle.push_back(round.after_idle_s);
    inflight.push_back(round.inflight_mib);
    row.inflight_max_mib = std::max(row.inflight_max_mib, round.inflight_max_mib);
    cpu += round.cpu_s_per_gb;
    row.iters += round.iters;
    row.rss_mib = std::max(row.rss_mib, round.rss_mib);
    row.ok = row.ok && round.ok;
  }
  row.time_s = medianOf(std::move(times));
  row.after_idle_s = medianOf(std::move(after_idle));
  row.inflight_mib = medianOf(std::move(inflight));
  row.algbw_gbs = row.time_s > 0 ? static_cast<double>(row.bytes) / row.time_s / 1e9 : 0.0;
  row.busbw_gbs = busBandwidthGbs(row.bytes, row.time_s, row.peers);
  row.cpu_s_per_gb = cpu / static_cast<double>(rounds.size());
  return row;
}

void printRow(const AllreduceRow& r, const NetlabSession* lab) {
  std::printf("%-10s %5d %10s %11.2f %12.3f %12.3f %9.3f %10.1f %3s", r.impl.c_str(), r.peers,
              formatSize(r.bytes).c_str(), r.time_s * 1e3, r.algbw_gbs, r.busbw_gbs, r.cpu_s_per_gb,
              r.rss_mib, r.ok ? "yes" : "NO");
  std::printf(" %7.2f %7.2f", r.inflight_mib, r.inflight_max_mib);
  if (lab != nullptr) {
    std::printf(" %7.1f %7.1f", lab->linkPercent(r.busbw_gbs), lab->ceilingPercent(r.busbw_gbs));
    if (lab->bdpBytes() > 0) {
      std::printf(" %7.1f", r.inflight_mib * 1024 * 1024 / lab->bdpBytes() * 100);
    }
  }
  if (r.after_idle_s > 0) std::printf(" %12.2f", r.after_idle_s * 1e3);
  std::printf("\n");
}

// rows[0]: ECCL's, then each comparator's, one per size.
void printTable(const std::vector<std::vector<AllreduceRow>>& rows, const NetlabSession* lab,
                bool after_idle) {
  std::printf("%-10s %5s %10s %11s %12s %12s %9s %10s %3s", "impl", "peers", "bytes", "median ms",
              "algbw GB/s", "busbw GB/s", "CPU-s/GB", "RSS MiB", "ok");
  std::printf(" %7s %7s", "fly MiB", "fly max");
  if (lab != nullptr) std::printf(" %7s %7s", "link %", "ceil %");
  if (lab != nullptr && lab->bdpBytes() > 0) std::printf(" %7s", "fly/BDP");
  if (after_idle) std::printf(" %12s", "idle, 1st ms");
  std::printf("\n");
  for (const auto& row : rows[0]) {
    printRow(row, lab);
    for (size_t c = 1; c < rows.size(); ++c) {
      for (const auto& other : rows[c]) {
        if (other.bytes != row.bytes) continue;
        printRow(other, lab);
        if (other.busbw_gbs > 0) {
          std::printf("      eccl/%s: busbw %.2fx, CPU-s/GB %.2fx\n", other.impl.c_str(),
                      row.busbw_gbs / other.busbw_gbs,
                      other.cpu_s_per_gb > 0 ? row.cpu_s_per_gb / other.cpu_s_per_gb : 0.0);
        }
      }
    }
  }
}

}  // namespace

int runAllreduce(const AllreduceOptions& options) {
  std::unique_ptr<NetlabSession> lab;
  if (!options.netlab.empty()) {
    auto session = openNetlab(options.netlab, options.peers);
    if (!session) {
      std::fprintf(stderr, "eccl-bench allreduce: --netlab %s: %s\n", options.netlab.c_str(),
                   session.status().toString().c_str());
      return 2;
    }
    lab = std::move(*session);
    // The ceiling the rows are held against, in the same run: iperf3 with 8
    // streams each way at once (what a WAN all-reduce, sending both ways, can hope for).
    if (Status measured = lab->measureCeiling(kCeilingStreams, kCeilingSeconds); !measured) {
      std::fprintf(stderr, "eccl-bench allreduce: --netlab %s: %s\n", options.netlab.c_str(),
                   measured.toString().c_str());
      return 1;
    }
  }
  // Each op has options.timeout in the workers; this bounds one run of an implementation.
  const auto total = options.timeout * (2 + static_cast<long>(options.sizes.size()) *
                                                (options.iters + options.warmup));
  // ECCL, then each comparator once, in the order --compare names them.
  std::vector<const Impl*> impls{&kEccl};
  for (const auto& name : options.compare) {
    for (const auto& comparator : kComparators) {
      const bool listed = std::find(impls.begin(), impls.end(), &comparator) != impls.end();
      if (name != comparator.name || listed) continue;
      if (std::string missing = missingComparator(comparator, options); !missing.empty()) {
        std::fprintf(stderr, "eccl-bench allreduce: --compare %s: %s\n", name.c_str(),
                     missing.c_str());
        return 2;
      }
      impls.push_back(&comparator);
    }
  }
  // runs[i]: the rows of impls[i], size by size, round after round. Odd
  // rounds run the implementations in reverse order, so that drift favours none.
  const size_t sizes = options.sizes.size();
  std::vector<std::vector<AllreduceRow>> runs(impls.size());
  bool ok = true;
  for (int round = 0; round < options.rounds; ++round) {
    for (size_t k = 0; k < impls.size(); ++k) {
      const size_t i = round % 2 == 0 ? k : impls.size() - 1 - k;
      std::fprintf(stderr, "eccl-bench allreduce: round %d/%d: %s, %d peers...\n", round + 1,
                   options.rounds, impls[i]->label, options.peers);
      auto rows = impls[i]->run(options, total, lab.get());
      if (!rows) {
        std::fprintf(stderr, "eccl-bench allreduce: %s: %s\n", impls[i]->label,
                     rows.status().toString().c_str());
        return 1;
      }
      if (rows->size() != sizes) {
        std::fprintf(stderr, "eccl-bench allreduce: %s printed %zu rows for %zu sizes\n",
                     impls[i]->label, rows->size(), sizes);
        ok = false;
        continue;
      }
      runs[i].insert(runs[i].end(), rows->begin(), rows->end());
    }
  }
  std::vector<std::vector<AllreduceRow>> combined(impls.size());
  for (size_t i = 0; i < impls.size(); ++i) {
    for (size_t size = 0; size < sizes && !runs[i].empty(); ++size) {
      std::vector<AllreduceRow> rounds;
      for (size_t row = size; row < runs[i].size(); row += sizes)
        rounds.push_back(runs[i][row]);
      combined[i].push_back(combineRounds(rounds));
      ok = ok && combined[i].back().ok;
    }
  }
  if (options.json) {
    if (lab) {
      const auto& ceiling = lab->ceiling();
      const nlohmann::json line = {{"bench", "netlab_ceiling"},
                                   {"netlab", options.netlab},
                                   {"tool", "iperf3"},
                                   {"streams", ceiling.streams},
                                   {"forward_gbps", ceiling.forward_gbps},
                                   {"backward_gbps", ceiling.backward_gbps}};
      std::printf("%s\n", line.dump().c_str());
    }
    for (const auto& rows : combined) {
      for (const auto& row : rows) {
        auto json = nlohmann::json::parse(allreduceRowJson(row));
        if (lab) {
          json["netlab"] = options.netlab;
          json["link_pct"] = lab->linkPercent(row.busbw_gbs);
          json["ceiling_pct"] = lab->ceilingPercent(row.busbw_gbs);
          if (lab->bdpBytes() > 0) {
            json["bdp_mib"] = lab->bdpBytes() / (1024.0 * 1024.0);
            json["inflight_bdp_pct"] = row.inflight_mib * 1024 * 1024 / lab->bdpBytes() * 100;
          }
        }
        std::printf("%s\n", json.dump().c_str());
      }
    }
  } else {
    if (lab) {
      std::printf("# netlab %s: one rank per namespace; link %% = busbw x 8 / %s\n",
                  options.netlab.c_str(), lab->spec().rate.c_str());
      const auto& ceiling = lab->ceiling();
      std::printf(
          "# ceiling: iperf3, %d streams each way at once, %d s, same lab: %.3f / %.3f "
          "Gbit/s; ceil %% = busbw x 8 / their mean\n",
          ceiling.streams, ceiling.seconds, ceiling.forward_gbps, ceiling.backward_gbps);
      if (lab->bdpBytes() > 0) {
        std::printf("# fly/BDP %% = fly MiB / the link's bandwidth-delay product, %.2f MiB\n",
                    lab->bdpBytes() / (1024.0 * 1024.0));
      }
    }
    std::printf(
        "# fly MiB: bytes a rank has sent and not yet had acknowledged (TCP_INFO), mean over "
        "its timed ops, averaged over ranks; fly max: the largest sample\n");
    if (options.quant) {
      const auto& q = *options.quant;
      std::printf(
          "# eccl rows: --quant %s (%s, %s on the wire, blocks of %u); the others exact; "
          "GB/s and link %% count the f32 bytes\n",
          quantSpecText(q).c_str(), quant::algoName(q.algo), quant::wireName(q.wire),
          q.block_elems);
    }
    printTable(combined, lab.get(), options.after_idle.count() > 0);
  }
  return ok ? 0 : 1;
}

}  // namespace eccl::tools::bench
