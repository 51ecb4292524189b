// eccl-swarm: many control-plane-only peers in one process against a master,
// measuring registration, topology updates, steady heartbeats (and the
// master's CPU when it runs in-process) and churn. Exits non-zero when a
// phase fails: a peer refused, lost or not admitted in time.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdio>
#include <cstdlib>

#include "src/common/log.h"
#include "src/common/time_scale.h"
#include "tools/eccl-swarm/figures.h"
#include "tools/eccl-swarm/inprocess_master.h"
#include "tools/eccl-swarm/scenario.h"
#include "tools/eccl-swarm/swarm.h"

namespace {

using namespace eccl::tools::swarm;

// Every peer holds a socket (and an in-process master one more per peer).
void raiseFileLimit() {
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0 || files.rlim_cur == files.rlim_max) return;
  files.rlim_cur = files.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &files) != 0) {
    std::fprintf(stderr, "eccl-swarm: cannot raise RLIMIT_NOFILE to %llu\n",
                 static_cast<unsigned long long>(files.rlim_max));
  }
}

eccl::Result<asio::ip::tcp::endpoint> resolve(const std::string& host_port) {
  const auto colon = host_port.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == host_port.size()) {
    return eccl::invalidArgument("--master wants HOST:PORT, not '" + host_port + "'");
  }
  std::string host = host_port.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  asio::io_context io;
  asio::ip::tcp::resolver resolver(io);
  std::error_code ec;
  auto results = resolver.resolve(host, host_port.substr(colon + 1), ec);
  if (ec || results.empty()) {
    return eccl::invalidArgument("cannot resolve " + host_port + ": " + ec.message());
  }
  return results.begin()->endpoint();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "eccl-swarm: many lightweight control-plane peers (no data plane) in one process against "
      "a master: time to register, topology update times, steady heartbeat load (master CPU "
      "when in-process) and churn"};
  std::string master_address;
  bool inprocess = false;
  std::string group = "swarm";
  ScenarioOptions options;
  double duration_s = 20;
  double phase_timeout_s = 60;
  int io_threads = 1;
  bool json = false;
  auto* master_option = app.add_option("--master", master_address, "HOST:PORT of a running master");
  app.add_flag("--inprocess-master", inprocess,
               "Run a master (default settings, 127.0.0.1) on a thread of this process and "
               "measure that thread's CPU time")
      ->excludes(master_option);
  app.add_option("--peers", options.peers, "Peers in the swarm")
      ->check(CLI::Range(2, 4096))
      ->capture_default_str();
  app.add_option("--group", group, "Group name the peers join")->capture_default_str();
  app.add_option("--duration-s", duration_s, "Length of the steady heartbeat phase, seconds")
      ->check(CLI::Range(0.5, 3600.0))
      ->capture_default_str();
  app.add_option("--churn", options.churn,
                 "Peers that leave, and new ones that join, before the last update")
      ->capture_default_str();
  app.add_option("--register-batch", options.register_batch,
                 "Register peers this many at a time, each batch once the previous one is in "
                 "(0: all at once)")
      ->capture_default_str();
  app.add_option("--io-threads", io_threads, "Threads running the swarm's peers")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  app.add_option("--phase-timeout-s", phase_timeout_s,
                 "Deadline of each phase, seconds (stretched by ECCL_TEST_TIME_SCALE)")
      ->check(CLI::Range(1.0, 3600.0))
      ->capture_default_str();
  app.add_flag("--json", json, "One JSON line of figures instead of the table");
  CLI11_PARSE(app, argc, argv);

  if (!inprocess && master_address.empty()) {
    std::fprintf(stderr, "eccl-swarm: give --master HOST:PORT or --inprocess-master\n");
    return 2;
  }
  if (options.churn == 0 || options.churn >= options.peers) {
    std::fprintf(stderr, "eccl-swarm: --churn must be between 1 and --peers - 1\n");
    return 2;
  }
  options.steady = std::chrono::milliseconds(static_cast<int64_t>(duration_s * 1000));
  options.phase_timeout =
      eccl::scaled(std::chrono::milliseconds(static_cast<int64_t>(phase_timeout_s * 1000)));
  eccl::log::setLevelFromEnvironment();
  raiseFileLimit();

  std::unique_ptr<InprocessMaster> master;
  asio::ip::tcp::endpoint target;
  Figures figures;
  if (inprocess) {
    eccl::membership::MasterOptions master_options;
    master_options.listen_host = "127.0.0.1";
    master_options.settings.token_key = eccl::membership::randomTokenKey();
    auto started = InprocessMaster::start(master_options);
    if (!started) {
      std::fprintf(stderr, "eccl-swarm: %s\n", started.status().toString().c_str());
      return 1;
    }
    master = std::move(*started);
    target = asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), master->port());
    figures.master = "in-process";
  } else {
    auto resolved = resolve(master_address);
    if (!resolved) {
      std::fprintf(stderr, "eccl-swarm: %s\n", resolved.status().message().c_str());
      return 2;
    }
    target = *resolved;
    figures.master = master_address;
  }
  figures.peers = options.peers;
  figures.churn = options.churn;
  figures.io_threads = io_threads;
  figures.register_batch = options.register_batch;

  eccl::Status outcome;
  {
    Swarm swarm(target, group, io_threads);
    outcome = runScenario(swarm, master.get(), options, figures);
  }
  master.reset();
  if (json) {
    printJson(figures, outcome.isOk() ? std::string() : outcome.toString());
  } else if (outcome.isOk()) {
    printTable(figures);
  }
  if (!outcome.isOk()) {
    std::fprintf(stderr,
                 "eccl-swarm: FAILED: %s (longest heartbeat round trip %.1f ms, latest swarm "
                 "heartbeat timer %.1f ms)\n",
                 outcome.toString().c_str(), figures.max_heartbeat_rtt_ms,
                 figures.max_timer_late_ms);
    return 1;
  }
  return 0;
}
