#include "tools/eccl-bench/diloco.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "tools/common/child_process.h"
#include "tools/eccl-bench/master_thread.h"
#include "tools/eccl-bench/netlab_session.h"
#include "tools/eccl-bench/size_parse.h"

namespace eccl::tools::bench {
namespace {

void printTable(const DilocoOptions& options, const NetlabSession* lab, const nlohmann::json& row) {
  std::printf(
      "# eccl-bench diloco: %d members, %s of f32 parameters, %d rounds per mode, inner "
      "compute %.3f s per round (%s)\n",
      options.members, formatSize(options.bytes).c_str(), options.rounds,
      row.value("compute_s", 0.0), row.value("compute", "").c_str());
  if (lab != nullptr) {
    std::printf("# lab %s: each host's egress shaped to %s\n", lab->spec().text.c_str(),
                lab->spec().rate.c_str());
  } else {
    std::printf("# loopback (127.0.0.1)\n");
  }
  std::printf("  all-reduce alone                 %8.3f s\n", row.value("allreduce_s", 0.0));
  std::printf("  compute + all-reduce             %8.3f s\n", row.value("sum_s", 0.0));
  std::printf("  max(compute, all-reduce)         %8.3f s\n", row.value("max_s", 0.0));
  std::printf("  synchronous round                %8.3f s  (blocked %.3f s)\n",
              row.value("sync_round_s", 0.0), row.value("sync_blocked_s", 0.0));
  std::printf("  one-step-delayed round           %8.3f s  (blocked %.3f s; final flush %.3f s)\n",
              row.value("async_round_s", 0.0), row.value("async_blocked_s", 0.0),
              row.value("async_flush_s", 0.0));
  std::printf("  delayed / synchronous            %8.3f\n", row.value("async_over_sync", 0.0));
}

}  // namespace

int runDiloco(const DilocoOptions& options) {
  std::unique_ptr<NetlabSession> lab;
  if (!options.netlab.empty()) {
    auto session = openNetlab(options.netlab, options.members);
    if (!session) {
      std::fprintf(stderr, "eccl-bench diloco: --netlab %s: %s\n", options.netlab.c_str(),
                   session.status().toString().c_str());
      return 2;
    }
    lab = std::move(*session);
  }
  auto master = MasterThread::start(lab.get());
  if (!master) {
    std::fprintf(stderr, "eccl-bench diloco: %s\n", master.status().toString().c_str());
    return 1;
  }
  auto hostOf = [&](int host) { return lab ? lab->addressOf(host) : std::string("127.0.0.1"); };
  std::vector<SpawnOptions> spawns(options.members);
  for (int i = 0; i < options.members; ++i) {
    std::vector<std::string> argv = {
        selfPath(),      "diloco-worker",
        "--master-host", hostOf(0),
        "--master-port", std::to_string((*master)->port()),
        "--host",        hostOf(i),
        "--members",     std::to_string(options.members),
        "--bytes",       std::to_string(options.bytes),
        "--rounds",      std::to_string(options.rounds),
        "--compute-ms",  std::to_string(options.compute.count()),
        "--compute",     options.compute_kind == ComputeKind::kSpin ? "spin" : "sleep",
        "--connections", std::to_string(options.connections),
        "--timeout-ms",  std::to_string(options.timeout.count())};
    spawns[i].name = "diloco member " + std::to_string(i);
    if (lab) {
      spawns[i].program = findOnPath("ip");
      spawns[i].argv = lab->inside(i, std::move(argv));
    } else {
      spawns[i].program = kSelfExecutable;
      spawns[i].argv = std::move(argv);
    }
  }
  std::fprintf(stderr, "eccl-bench diloco: %d members, %s, %d rounds per mode...\n",
               options.members, formatSize(options.bytes).c_str(), options.rounds);
  auto outputs = runChildren(std::move(spawns), options.timeout * 4);
  if (!outputs) {
    std::fprintf(stderr, "eccl-bench diloco: %s\n", outputs.status().toString().c_str());
    return 1;
  }
  nlohmann::json row;
  for (const auto& output : *outputs) {
    for (const auto& json : benchRows(output, "diloco"))
      row = json;
  }
  if (row.is_null()) {
    std::fprintf(stderr, "eccl-bench diloco: rank 0 printed no row\n");
    return 1;
  }
  if (options.json) {
    std::printf("%s\n", row.dump().c_str());
  } else {
    printTable(options, lab.get(), row);
  }
  return 0;
}

}  // namespace eccl::tools::bench
