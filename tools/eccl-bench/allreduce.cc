// `eccl-bench allreduce`: starts a master on a thread of this process and N
// worker processes, reads the rows rank 0 prints, then does the same with the
// Gloo comparator, and prints both with their ratio.
#include "tools/eccl-bench/allreduce.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "src/membership/master_server.h"
#include "src/membership/peer_token.h"
#include "tools/common/child_process.h"
#include "tools/eccl-bench/allreduce_stats.h"
#include "tools/eccl-bench/size_parse.h"

namespace eccl::tools::bench {
namespace {

std::string joinSizes(const std::vector<uint64_t>& sizes) {
  std::string text;
  for (uint64_t size : sizes) {
    if (!text.empty()) text += ',';
    text += std::to_string(size);
  }
  return text;
}

// The master on its own thread, stopped and joined on destruction.
class MasterThread {
 public:
  static Result<std::unique_ptr<MasterThread>> start() {
    membership::MasterOptions options;
    options.listen_host = "127.0.0.1";
    options.settings.token_key = membership::randomTokenKey();
    auto server = membership::MasterServer::create(options);
    if (!server) return server.status();
    return std::unique_ptr<MasterThread>(new MasterThread(std::move(*server)));
  }
  ~MasterThread() {
    server_->stop();
    thread_.join();
  }
  uint16_t port() const { return server_->port(); }

 private:
  explicit MasterThread(std::unique_ptr<membership::MasterServer> server)
      : server_(std::move(server)), thread_([this] { (void)server_->run(); }) {}
  std::unique_ptr<membership::MasterServer> server_;
  std::thread thread_;
};

// Runs the processes to the end; the rows any of them printed (only rank 0 does).
Result<std::vector<AllreduceRow>> runPeers(std::vector<SpawnOptions> spawns,
                                           std::chrono::milliseconds timeout) {
  std::vector<std::unique_ptr<ChildProcess>> children;
  for (auto& spawn : spawns) {
    spawn.stdout_to = ChildOutput::kPipe;
    auto child = ChildProcess::spawn(spawn);
    if (!child) return child.status();
    children.push_back(std::move(*child));
  }
  std::vector<AllreduceRow> rows;
  for (auto& child : children) {
    // Outputs are a few lines: reading the pipes in turn cannot fill one.
    auto output = child->readAll(timeout);
    if (!output) return output.status();
    auto exited = child->wait(timeout);
    if (!exited) return exited.status();
    if (!ChildProcess::exitedCleanly(*exited)) {
      return internalError(child->name() + " " + ChildProcess::describeExit(*exited));
    }
    std::istringstream lines(*output);
    for (std::string line; std::getline(lines, line);) {
      auto json = nlohmann::json::parse(line, nullptr, false);
      if (json.is_discarded() || json.value("bench", "") != "allreduce") continue;
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
      rows.push_back(row);
    }
  }
  return rows;
}

Result<std::vector<AllreduceRow>> runEccl(const AllreduceOptions& options,
                                          std::chrono::milliseconds timeout) {
  auto master = MasterThread::start();
  if (!master) return master.status();
  std::vector<SpawnOptions> spawns(options.peers);
  for (int i = 0; i < options.peers; ++i) {
    spawns[i].program = kSelfExecutable;
    spawns[i].name = "eccl worker " + std::to_string(i);
    spawns[i].argv = {"eccl-bench",    "allreduce-worker",
                      "--master-port", std::to_string((*master)->port()),
                      "--peers",       std::to_string(options.peers),
                      "--sizes",       joinSizes(options.sizes),
                      "--connections", std::to_string(options.connections),
                      "--iters",       std::to_string(options.iters),
                      "--warmup",      std::to_string(options.warmup),
                      "--timeout-ms",  std::to_string(options.timeout.count())};
  }
  return runPeers(std::move(spawns), timeout);
}

// The comparator is installed next to eccl-bench when Gloo was found at build time.
std::string glooComparator() {
  std::error_code error;
  auto self = std::filesystem::read_symlink(kSelfExecutable, error);
  if (error) return "";
  auto path = self.parent_path() / "eccl-gloo-allreduce";
  return access(path.c_str(), X_OK) == 0 ? path.string() : "";
}

Result<std::vector<AllreduceRow>> runGloo(const AllreduceOptions& options,
                                          std::chrono::milliseconds timeout) {
  const std::string program = glooComparator();
  if (program.empty()) {
    return unsupportedError(
        "the Gloo comparator (eccl-gloo-allreduce) was not built: install libgloo-dev and "
        "reconfigure");
  }
  char dir_template[] = "/tmp/eccl-bench-gloo.XXXXXX";
  if (mkdtemp(dir_template) == nullptr) return systemError("mkdtemp failed");
  const std::string store = dir_template;
  std::vector<SpawnOptions> spawns(options.peers);
  for (int i = 0; i < options.peers; ++i) {
    spawns[i].program = program;
    spawns[i].name = "gloo rank " + std::to_string(i);
    spawns[i].argv = {"eccl-gloo-allreduce",
                      "--rank",
                      std::to_string(i),
                      "--peers",
                      std::to_string(options.peers),
                      "--store",
                      store,
                      "--sizes",
                      joinSizes(options.sizes),
                      "--iters",
                      std::to_string(options.iters),
                      "--warmup",
                      std::to_string(options.warmup),
                      "--timeout-ms",
                      std::to_string(options.timeout.count())};
  }
  auto rows = runPeers(std::move(spawns), timeout);
  std::error_code ignored;
  std::filesystem::remove_all(store, ignored);
  return rows;
}

void printTable(const std::vector<AllreduceRow>& eccl, const std::vector<AllreduceRow>& gloo) {
  std::printf("%-5s %5s %10s %11s %12s %12s %9s %10s %3s\n", "impl", "peers", "bytes", "median ms",
              "algbw GB/s", "busbw GB/s", "CPU-s/GB", "RSS MiB", "ok");
  auto print = [](const AllreduceRow& r) {
    std::printf("%-5s %5d %10s %11.2f %12.3f %12.3f %9.3f %10.1f %3s\n", r.impl.c_str(), r.peers,
                formatSize(r.bytes).c_str(), r.time_s * 1e3, r.algbw_gbs, r.busbw_gbs,
                r.cpu_s_per_gb, r.rss_mib, r.ok ? "yes" : "NO");
  };
  for (const auto& row : eccl) {
    print(row);
    for (const auto& other : gloo) {
      if (other.bytes != row.bytes) continue;
      print(other);
      if (other.busbw_gbs > 0) {
        std::printf("      eccl/gloo: busbw %.2fx, CPU-s/GB %.2fx\n",
                    row.busbw_gbs / other.busbw_gbs,
                    other.cpu_s_per_gb > 0 ? row.cpu_s_per_gb / other.cpu_s_per_gb : 0.0);
      }
    }
  }
}

}  // namespace

int runAllreduce(const AllreduceOptions& options) {
  // Each op has options.timeout in the workers; this bounds the whole run.
  const auto total = options.timeout * (2 + static_cast<long>(options.sizes.size()) *
                                                (options.iters + options.warmup));
  if (options.compare == "gloo" && glooComparator().empty()) {
    std::fprintf(stderr,
                 "eccl-bench allreduce: --compare gloo: the comparator eccl-gloo-allreduce was "
                 "not built (libgloo-dev was not found when eccl-bench was configured)\n");
    return 2;
  }
  std::fprintf(stderr, "eccl-bench allreduce: ECCL, %d peers...\n", options.peers);
  auto eccl = runEccl(options, total);
  if (!eccl) {
    std::fprintf(stderr, "eccl-bench allreduce: ECCL: %s\n", eccl.status().toString().c_str());
    return 1;
  }
  std::vector<AllreduceRow> gloo;
  if (options.compare == "gloo") {
    std::fprintf(stderr, "eccl-bench allreduce: Gloo ring, %d peers...\n", options.peers);
    auto rows = runGloo(options, total);
    if (!rows) {
      std::fprintf(stderr, "eccl-bench allreduce: Gloo: %s\n", rows.status().toString().c_str());
      return 1;
    }
    gloo = std::move(*rows);
  }
  bool ok = eccl->size() == options.sizes.size() &&
            (options.compare.empty() || gloo.size() == options.sizes.size());
  for (const auto& row : *eccl)
    ok = ok && row.ok;
  for (const auto& row : gloo)
    ok = ok && row.ok;
  if (options.json) {
    for (const auto& row : *eccl)
      std::printf("%s\n", allreduceRowJson(row).c_str());
    for (const auto& row : gloo)
      std::printf("%s\n", allreduceRowJson(row).c_str());
  } else {
    printTable(*eccl, gloo);
  }
  return ok ? 0 : 1;
}

}  // namespace eccl::tools::bench
