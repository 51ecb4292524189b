#include "tools/eccl-bench/state_join.h"

#include <cstdio>
#include <nlohmann/json.hpp>

#include "tools/common/child_process.h"
#include "tools/eccl-bench/master_thread.h"
#include "tools/eccl-bench/netlab_session.h"
#include "tools/eccl-bench/size_parse.h"

namespace eccl::tools::bench {
namespace {

void printTable(const StateJoinOptions& options, const NetlabSession* lab,
                const nlohmann::json& member, const nlohmann::json& joiner) {
  std::printf(
      "# eccl-bench state-join: %d members train (a sync of %s in %u entries, then %d all-reduces "
      "of %s, per round) while a joiner fetches the whole state in the background\n",
      options.members, formatSize(options.bytes).c_str(), options.entries, options.steps_per_round,
      formatSize(options.step_bytes).c_str());
  if (lab != nullptr) {
    std::printf("# lab %s: each host's egress shaped to %s\n", lab->spec().text.c_str(),
                lab->spec().rate.c_str());
  } else {
    std::printf("# loopback (127.0.0.1)\n");
  }
  if (options.fetch_bytes_per_s > 0) {
    std::printf("# fetch pace: %.0f Mbit/s in total (ecclCommConnectWithState)\n",
                static_cast<double>(options.fetch_bytes_per_s) * 8 / 1e6);
  } else {
    std::printf("# fetch pace: unpaced\n");
  }
  const double fetch_seconds = member.value("fetch_seconds", 0.0);
  const double fetched = joiner.value("fetched_bytes", 0.0);
  std::printf("  step time before the join   %8.4f s  (median of %d)\n",
              member.value("baseline_step_s", 0.0), member.value("baseline_steps", 0));
  std::printf("  step time during the fetch  %8.4f s  (median of %d)\n",
              member.value("fetch_step_s", 0.0), member.value("fetch_steps", 0));
  std::printf("  slowdown                    %8.1f %%\n", member.value("slowdown", 0.0) * 100);
  std::printf("  fetch                       %8.1f s   %s at %.0f Mbit/s\n", fetch_seconds,
              formatSize(static_cast<uint64_t>(fetched)).c_str(),
              fetch_seconds > 0 ? fetched * 8 / fetch_seconds / 1e6 : 0.0);
  std::printf("  catch-up after admission    %8.3f s   %s in %d entries\n",
              joiner.value("catch_up_seconds", 0.0),
              formatSize(joiner.value("catch_up_bytes", uint64_t{0})).c_str(),
              joiner.value("catch_up_entries", 0));
  std::printf("  longest member sync         %8.3f s\n", member.value("longest_sync_s", 0.0));
}

}  // namespace

int runStateJoin(const StateJoinOptions& options) {
  std::unique_ptr<NetlabSession> lab;
  if (!options.netlab.empty()) {
    auto session = openNetlab(options.netlab, options.members + 1);
    if (!session) {
      std::fprintf(stderr, "eccl-bench state-join: --netlab %s: %s\n", options.netlab.c_str(),
                   session.status().toString().c_str());
      return 2;
    }
    lab = std::move(*session);
  }
  auto master = MasterThread::start(lab.get(), lab ? lab->spec().rate_bits_per_s / 8 : 0);
  if (!master) {
    std::fprintf(stderr, "eccl-bench state-join: %s\n", master.status().toString().c_str());
    return 1;
  }
  auto hostOf = [&](int host) { return lab ? lab->addressOf(host) : std::string("127.0.0.1"); };
  std::vector<SpawnOptions> spawns(options.members + 1);
  for (int i = 0; i <= options.members; ++i) {
    std::vector<std::string> argv = {selfPath(),
                                     "state-join-worker",
                                     "--master-host",
                                     hostOf(0),
                                     "--master-port",
                                     std::to_string((*master)->port()),
                                     "--host",
                                     hostOf(i),
                                     "--members",
                                     std::to_string(options.members),
                                     "--bytes",
                                     std::to_string(options.bytes),
                                     "--entries",
                                     std::to_string(options.entries),
                                     "--step-bytes",
                                     std::to_string(options.step_bytes),
                                     "--steps-per-round",
                                     std::to_string(options.steps_per_round),
                                     "--fetch-rate",
                                     std::to_string(options.fetch_bytes_per_s),
                                     "--joiner-delay-ms",
                                     std::to_string(options.joiner_delay.count()),
                                     "--connections",
                                     std::to_string(options.connections),
                                     "--timeout-ms",
                                     std::to_string(options.timeout.count())};
    if (i == options.members) argv.push_back("--joiner");
    spawns[i].name =
        i == options.members ? "state-join joiner" : "state-join member " + std::to_string(i);
    if (lab) {
      spawns[i].program = findOnPath("ip");
      spawns[i].argv = lab->inside(i, std::move(argv));
    } else {
      spawns[i].program = kSelfExecutable;
      spawns[i].argv = std::move(argv);
    }
  }
  std::fprintf(stderr, "eccl-bench state-join: %d members and a joiner, %s of state...\n",
               options.members, formatSize(options.bytes).c_str());
  auto outputs = runChildren(std::move(spawns), options.timeout * 4);
  if (!outputs) {
    std::fprintf(stderr, "eccl-bench state-join: %s\n", outputs.status().toString().c_str());
    return 1;
  }
  nlohmann::json member, joiner;
  for (const auto& output : *outputs) {
    for (const auto& json : benchRows(output, "state-join")) {
      (json.value("role", "") == "joiner" ? joiner : member) = json;
      if (options.json) std::printf("%s\n", json.dump().c_str());
    }
  }
  if (member.is_null() || joiner.is_null()) {
    std::fprintf(stderr, "eccl-bench state-join: a worker printed no row\n");
    return 1;
  }
  if (!member.value("ok", false)) {
    std::fprintf(stderr,
                 "eccl-bench state-join: no %s steps were measured (raise --joiner-delay for a "
                 "baseline, --size or lower --fetch-rate for a longer fetch)\n",
                 member.value("baseline_steps", 0) == 0 ? "baseline" : "fetch");
    return 1;
  }
  if (!options.json) printTable(options, lab.get(), member, joiner);
  return 0;
}

}  // namespace eccl::tools::bench
