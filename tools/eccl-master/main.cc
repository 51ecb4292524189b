// eccl-master: the membership master of an ECCL cluster. The membership event
// loop runs on the main thread, the optional HTTP endpoint on its own thread,
// and SIGINT/SIGTERM are taken by a sigwait() thread that stops both.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>

#include "src/common/host_port.h"
#include "src/common/log.h"
#include "src/membership/master_server.h"
#include "src/membership/peer_token.h"
#include "tools/eccl-master/host_port_option.h"
#include "tools/eccl-master/http_endpoint.h"
#include "tools/eccl-master/port_file.h"
#include "tools/eccl-master/security_options.h"
#include "tools/eccl-master/shutdown_signals.h"

namespace {

using namespace eccl;

// The documented WAN preset: peers tolerate 5 s of silence, not 1 s.
constexpr int kWanHeartbeatMs = 1000;
constexpr int kWanMissLimit = 5;

struct Arguments {
  std::string listen;
  std::string http;
  int heartbeat_ms = 250;
  int miss_limit = 4;
  bool wan = false;
  std::string token_key_file;
  tools::SecurityArguments security;
  std::string port_file;
  std::string http_port_file;
  std::string log_level = "info";
  double state_link_mbit = 10'000;
  // Anomaly detection (src/anomaly/cluster_monitor.h).
  bool evict_hung = membership::MasterSettings{}.evict_hung;
  bool evict_stragglers = membership::MasterSettings{}.evict_stragglers;
  int hung_ms = static_cast<int>(anomaly::DetectorSettings{}.hung_after.count());
  int anomaly_window_ms = static_cast<int>(anomaly::DetectorSettings{}.window.count());
  double straggler_share = anomaly::DetectorSettings{}.min_late_share;
  double straggler_factor = anomaly::DetectorSettings{}.late_factor;
  int straggler_confirm_ms = static_cast<int>(anomaly::DetectorSettings{}.confirm_for.count());
  bool evict_slow_nodes = membership::MasterSettings{}.evict_slow_nodes;
  double link_busy_share = anomaly::DetectorSettings{}.min_busy_share;
  double link_busy_factor = anomaly::DetectorSettings{}.busy_factor;
  int frozen_ms = static_cast<int>(anomaly::DetectorSettings{}.frozen_after.count());
  int eviction_cooldown_ms =
      static_cast<int>(membership::MasterSettings{}.eviction_cooldown.count());
  int rejoin_backoff_ms = static_cast<int>(membership::MasterSettings{}.rejoin_backoff.count());
  int rejoin_backoff_max_ms =
      static_cast<int>(membership::MasterSettings{}.rejoin_backoff_max.count());
};

void addOptions(CLI::App& app, Arguments& args) {
  app.add_option("--listen", args.listen,
                 "Address of the control port peers connect to (port 0: any)")
      ->required()
      ->check(tools::hostPortValidator());
  app.add_option(
         "--http", args.http,
         "Serve GET / (live dashboard), GET /metrics (Prometheus) and GET /status (JSON) here")
      ->check(tools::hostPortValidator());
  app.add_option("--heartbeat-ms", args.heartbeat_ms, "Heartbeat interval peers are told to use")
      ->check(CLI::Range(5, 600'000))
      ->capture_default_str();
  app.add_option("--miss-limit", args.miss_limit,
                 "Missed heartbeats after which a silent peer is declared lost")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_flag("--wan", args.wan,
               "WAN preset: --heartbeat-ms 1000 --miss-limit 5 unless those are given");
  app.add_option("--token-key-file", args.token_key_file,
                 "Key that signs peer tokens (created if absent, mode 0600); with the same file a "
                 "restarted master recognises its predecessor's peers");
  tools::addSecurityOptions(app, args.security);
  app.add_option("--port-file", args.port_file,
                 "Write the bound control port here once listening (written atomically)");
  app.add_option("--http-port-file", args.http_port_file,
                 "Write the bound HTTP port here once listening (written atomically)")
      ->needs(app.get_option("--http"));
  app.add_option(
         "--state-link-mbit", args.state_link_mbit,
         "Link rate (Mbit/s) shared-state transfers cross: an entry travels zstd-compressed "
         "when its sample compresses to 80 % or less at least this fast")
      ->check(CLI::Range(1.0, 1e7))
      ->capture_default_str();
  app.add_flag("--evict-hung,!--no-evict-hung", args.evict_hung,
               "Evict a peer found hung (its ring neighbours blocked on it for --hung-ms while "
               "it is in no collective): its ring's op then fails at once, not at its deadline")
      ->capture_default_str();
  app.add_flag("--evict-stragglers,!--no-evict-stragglers", args.evict_stragglers,
               "Evict a peer found straggling (default: report it only)")
      ->capture_default_str();
  app.add_option("--hung-ms", args.hung_ms,
                 "How long ring neighbours must be blocked on a peer for it to be hung")
      ->check(CLI::Range(100, 3'600'000))
      ->capture_default_str();
  app.add_option("--anomaly-window-ms", args.anomaly_window_ms,
                 "The window over which the detectors compare peers' lateness and link rates")
      ->check(CLI::Range(500, 3'600'000))
      ->capture_default_str();
  app.add_option("--straggler-share", args.straggler_share,
                 "A straggler's neighbours waited at least this share of the window for it to "
                 "enter their collectives...")
      ->check(CLI::Range(0.001, 10.0))
      ->capture_default_str();
  app.add_option("--straggler-factor", args.straggler_factor,
                 "...and at least this many times the median of the other peers of its ring")
      ->check(CLI::Range(1.0, 1000.0))
      ->capture_default_str();
  app.add_option("--straggler-confirm-ms", args.straggler_confirm_ms,
                 "...without a break for this long")
      ->check(CLI::Range(0, 3'600'000))
      ->capture_default_str();
  app.add_flag("--evict-slow-nodes,!--no-evict-slow-nodes", args.evict_slow_nodes,
               "Evict a peer found to be a slow node, all its ring links far busier than the "
               "ring's others (default: report it only; a single slow link is always reported "
               "only, since the ring cannot tell which end is at fault)")
      ->capture_default_str();
  app.add_option("--link-busy-share", args.link_busy_share,
                 "A slow link's bytes waited on it (queued or in flight in its sender's kernel) "
                 "at least this share of the window...")
      ->check(CLI::Range(0.01, 1.0))
      ->capture_default_str();
  app.add_option("--link-busy-factor", args.link_busy_factor,
                 "...and at least this many times the median of the ring's other links, for "
                 "--straggler-confirm-ms")
      ->check(CLI::Range(1.0, 1000.0))
      ->capture_default_str();
  app.add_option("--frozen-ms", args.frozen_ms,
                 "A link on which bytes wait and none has moved for this long is frozen")
      ->check(CLI::Range(100, 3'600'000))
      ->capture_default_str();
  app.add_option("--eviction-cooldown-ms", args.eviction_cooldown_ms,
                 "At most one eviction for an anomaly per group in this time, so that a noisy "
                 "network cannot empty a ring")
      ->check(CLI::Range(0, 86'400'000))
      ->capture_default_str();
  app.add_option("--rejoin-backoff-ms", args.rejoin_backoff_ms,
                 "An evicted peer's process may register again only after this long, doubled "
                 "for each further eviction of it")
      ->check(CLI::Range(0, 86'400'000))
      ->capture_default_str();
  app.add_option("--rejoin-backoff-max-ms", args.rejoin_backoff_max_ms,
                 "The longest back-off of an evicted peer's process (and how long after its "
                 "back-off the master still remembers it)")
      ->check(CLI::Range(0, 86'400'000))
      ->capture_default_str();
  app.add_option("--log-level", args.log_level, "stderr log level")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
}

int fail(const std::string& what) {
  std::fprintf(stderr, "eccl-master: %s\n", what.c_str());
  return 1;
}

uint64_t wallClockMs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app("eccl-master: membership master of an ECCL cluster");
  app.footer(
      "Peers connect to --listen. SIGINT or SIGTERM stops the master cleanly (exit code 0); "
      "peers keep their rings and reconnect to a master restarted on the same address "
      "(use --token-key-file so that it recognises them).");
  Arguments args;
  addOptions(app, args);
  CLI11_PARSE(app, argc, argv);

  // Before any thread exists, so that only the sigwait() thread ever sees these signals.
  if (Status blocked = tools::blockShutdownSignals(); !blocked) return fail(blocked.toString());
  log::setLevel(spdlog::level::from_str(args.log_level));

  membership::MasterOptions options;
  const auto listen = *parseHostPort(args.listen);
  options.listen_host = listen.host;
  options.listen_port = listen.port;
  auto& settings = options.settings;
  const bool wan_heartbeat = args.wan && app.count("--heartbeat-ms") == 0;
  const bool wan_miss_limit = args.wan && app.count("--miss-limit") == 0;
  settings.heartbeat =
      std::chrono::milliseconds(wan_heartbeat ? kWanHeartbeatMs : args.heartbeat_ms);
  settings.miss_limit = static_cast<uint16_t>(wan_miss_limit ? kWanMissLimit : args.miss_limit);
  // Peers compare incarnations to notice a restart: the start time differs between runs.
  settings.incarnation = wallClockMs();
  settings.state_link_bytes_per_s = args.state_link_mbit * 1e6 / 8;
  settings.evict_hung = args.evict_hung;
  settings.evict_stragglers = args.evict_stragglers;
  settings.evict_slow_nodes = args.evict_slow_nodes;
  settings.detectors.min_busy_share = args.link_busy_share;
  settings.detectors.busy_factor = args.link_busy_factor;
  settings.detectors.frozen_after = std::chrono::milliseconds(args.frozen_ms);
  settings.eviction_cooldown = std::chrono::milliseconds(args.eviction_cooldown_ms);
  settings.rejoin_backoff = std::chrono::milliseconds(args.rejoin_backoff_ms);
  settings.rejoin_backoff_max =
      std::chrono::milliseconds(std::max(args.rejoin_backoff_max_ms, args.rejoin_backoff_ms));
  settings.detectors.hung_after = std::chrono::milliseconds(args.hung_ms);
  settings.detectors.window = std::chrono::milliseconds(args.anomaly_window_ms);
  settings.detectors.min_late_share = args.straggler_share;
  settings.detectors.late_factor = args.straggler_factor;
  settings.detectors.confirm_for = std::chrono::milliseconds(args.straggler_confirm_ms);
  auto secret = tools::loadSecret(args.security);
  if (!secret) return fail(secret.status().message());
  options.secret = std::move(*secret);
  auto tls = tools::loadTls(args.security);
  if (!tls) return fail(tls.status().message());
  options.tls = std::move(*tls);
  if (args.token_key_file.empty()) {
    settings.token_key = membership::randomTokenKey();
  } else {
    // An existing key means peers of an earlier run may be reconnecting: give
    // their rings time to come back before newcomers form new ones.
    bool restarting = false;
    auto key = membership::loadOrCreateTokenKey(args.token_key_file, &restarting);
    if (!key) return fail(key.status().toString());
    settings.token_key = *key;
    if (restarting) {
      settings.hold_first_rings_until = std::chrono::steady_clock::now() + settings.rebuild_grace;
    }
  }

  auto server = membership::MasterServer::create(options);
  if (!server) return fail(server.status().toString());
  membership::MasterServer& master = **server;
  if (!args.port_file.empty()) {
    if (Status s = tools::writePortFile(args.port_file, master.port()); !s)
      return fail(s.toString());
  }

  std::unique_ptr<tools::master::HttpEndpoint> http;
  HostPort http_at;
  if (!args.http.empty()) {
    http_at = *parseHostPort(args.http);
    auto started = tools::master::HttpEndpoint::start(http_at.host, http_at.port, master);
    if (!started) return fail(started.status().toString());
    http = std::move(*started);
    if (!args.http_port_file.empty()) {
      if (Status s = tools::writePortFile(args.http_port_file, http->port()); !s) {
        return fail(s.toString());
      }
    }
  }

  std::printf("eccl-master: listening on %s, incarnation %llu, heartbeat %lld ms, miss limit %u\n",
              master.address().c_str(), static_cast<unsigned long long>(settings.incarnation),
              static_cast<long long>(settings.heartbeat.count()),
              static_cast<unsigned>(settings.miss_limit));
  if (http) {
    std::printf("eccl-master: http on %s\n", formatHostPort(http_at.host, http->port()).c_str());
  }
  std::fflush(stdout);

  Status ran;
  {
    tools::ShutdownSignals signals([&](int) {
      master.stop();
      if (http) http->stop();
    });
    ran = master.run();
  }
  if (http) http->stop();
  if (!ran) return fail(ran.toString());
  std::printf("eccl-master: stopped\n");
  return 0;
}
