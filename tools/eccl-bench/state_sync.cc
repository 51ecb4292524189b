#include "tools/eccl-bench/state_sync.h"

#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "tools/common/child_process.h"
#include "tools/eccl-bench/master_thread.h"
#include "tools/eccl-bench/netlab_session.h"
#include "tools/eccl-bench/size_parse.h"

namespace eccl::tools::bench {
namespace {

struct Row {
  int sources = 0;
  double gbit_s = 0;
  double seconds = 0;
  double wire_fraction = 1;  // wire bytes / state bytes (below 1: zstd)
  std::string error;
};

Row measureSources(const StateSyncOptions& options, int sources, const NetlabSession* lab) {
  Row row;
  row.sources = sources;
  // The master knows the lab's link: zstd is chosen against that rate.
  auto master = MasterThread::start(lab, lab != nullptr ? lab->spec().rate_bits_per_s / 8 : 0);
  if (!master) {
    row.error = master.status().toString();
    return row;
  }
  // The receiver is host 0 (beside the master), holder i is host i.
  auto hostOf = [&](int host) { return lab != nullptr ? lab->addressOf(host) : "127.0.0.1"; };
  std::vector<SpawnOptions> spawns(sources + 1);
  for (int i = 0; i <= sources; ++i) {
    std::vector<std::string> argv = {selfPath(),      "state-sync-worker",
                                     "--master-host", hostOf(0),
                                     "--master-port", std::to_string((*master)->port()),
                                     "--host",        hostOf(i),
                                     "--peers",       std::to_string(sources + 1),
                                     "--bytes",       std::to_string(options.bytes),
                                     "--entries",     std::to_string(options.entries),
                                     "--connections", std::to_string(options.connections),
                                     "--iters",       std::to_string(options.iters),
                                     "--warmup",      std::to_string(options.warmup),
                                     "--timeout-ms",  std::to_string(options.timeout.count())};
    if (i == 0) argv.push_back("--receiver");
    if (options.sparse) argv.push_back("--sparse");
    spawns[i].name = "state-sync worker " + std::to_string(i);
    if (lab != nullptr) {
      spawns[i].program = findOnPath("ip");
      spawns[i].argv = lab->inside(i, std::move(argv));
    } else {
      spawns[i].program = kSelfExecutable;
      spawns[i].argv = std::move(argv);
    }
  }
  const auto total = options.timeout * (2 + options.warmup + options.iters);
  auto outputs = runChildren(std::move(spawns), total);
  if (!outputs) {
    row.error = outputs.status().toString();
    return row;
  }
  for (const auto& output : *outputs) {
    for (const auto& json : benchRows(output, "state-sync")) {
      row.gbit_s = json.value("gbit_s", 0.0);
      row.seconds = json.value("seconds", 0.0);
      row.wire_fraction =
          json.value("wire_bytes_received", 0.0) / std::max(1.0, json.value("bytes", 0.0));
      if (options.json) std::printf("%s\n", json.dump().c_str());
    }
  }
  if (row.gbit_s == 0) row.error = "the receiver printed no row";
  return row;
}

// `eccl-bench p2p` with the same size and connections, as a child: its median Gbit/s.
Result<double> measureP2p(const StateSyncOptions& options) {
  SpawnOptions spawn;
  spawn.program = kSelfExecutable;
  spawn.name = "eccl-bench p2p";
  spawn.argv = {selfPath(),      "p2p",
                "--size",        std::to_string(options.bytes),
                "--connections", std::to_string(options.connections),
                "--iters",       std::to_string(options.iters),
                "--warmup",      std::to_string(options.warmup),
                "--json"};
  auto outputs = runChildren({spawn}, options.timeout * (2 + options.warmup + options.iters));
  if (!outputs) return outputs.status();
  for (const auto& json : benchRows(outputs->front(), "p2p")) {
    if (json.value("impl", "") == "eccl" && json.value("ok", false)) {
      if (options.json) std::printf("%s\n", json.dump().c_str());
      return json.value("gbit_s", 0.0);
    }
  }
  return internalError("eccl-bench p2p printed no row");
}

}  // namespace

int runStateSync(const StateSyncOptions& options) {
  std::unique_ptr<NetlabSession> lab;
  if (!options.netlab.empty()) {
    if (options.compare_p2p) {
      std::fprintf(stderr,
                   "eccl-bench state-sync: --compare p2p runs on loopback only; in a "
                   "lab the rows show the link percentage\n");
      return 2;
    }
    const int hosts = 1 + *std::max_element(options.sources.begin(), options.sources.end());
    auto session = openNetlab(options.netlab, hosts);
    if (!session) {
      std::fprintf(stderr, "eccl-bench state-sync: --netlab %s: %s\n", options.netlab.c_str(),
                   session.status().toString().c_str());
      return 2;
    }
    lab = std::move(*session);
  }
  std::optional<double> p2p;
  if (options.compare_p2p) {
    std::fprintf(stderr, "eccl-bench state-sync: p2p, %s...\n", formatSize(options.bytes).c_str());
    auto measured = measureP2p(options);
    if (!measured) {
      std::fprintf(stderr, "eccl-bench state-sync: p2p: %s\n",
                   measured.status().toString().c_str());
      return 1;
    }
    p2p = *measured;
  }
  std::vector<Row> rows;
  bool ok = true;
  for (int sources : options.sources) {
    std::fprintf(stderr, "eccl-bench state-sync: %d source(s), %s...\n", sources,
                 formatSize(options.bytes).c_str());
    rows.push_back(measureSources(options, sources, lab.get()));
    if (!rows.back().error.empty()) {
      std::fprintf(stderr, "eccl-bench state-sync: %d source(s): %s\n", sources,
                   rows.back().error.c_str());
      ok = false;
    }
  }
  if (options.json) return ok ? 0 : 1;
  std::printf(
      "# eccl-bench state-sync: a RECEIVE_ONLY peer fetches %s (%u f32 entries) from N "
      "holders; median sync wall time of %d\n",
      formatSize(options.bytes).c_str(), options.entries, options.iters);
  if (lab) {
    std::printf("# lab %s: each host's egress shaped to %s; the receiver's ingress is not\n",
                lab->spec().text.c_str(), lab->spec().rate.c_str());
  }
  std::printf("# %7s %10s %10s %12s", "sources", "seconds", "Gbit/s",
              lab ? "link %" : "p2p Gbit/s");
  std::printf(" %10s %6s\n", lab ? "" : "vs p2p", "wire");
  for (const Row& row : rows) {
    if (!row.error.empty()) {
      std::printf("  %7d FAILED: %s\n", row.sources, row.error.c_str());
      continue;
    }
    std::printf("  %7d %10.3f %10.2f", row.sources, row.seconds, row.gbit_s);
    if (lab) {
      std::printf(" %12.1f %10s", lab->linkPercent(row.gbit_s / 8), "");
    } else if (p2p) {
      std::printf(" %12.2f %10.2f", *p2p, row.gbit_s / *p2p);
    } else {
      std::printf(" %12s %10s", "-", "-");
    }
    std::printf(" %5.0f%%\n", row.wire_fraction * 100);
  }
  return ok ? 0 : 1;
}

}  // namespace eccl::tools::bench
