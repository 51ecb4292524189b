#include "tools/eccl-netlab/delay_line_daemon.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "tools/eccl-netlab/delay_line.h"
#include "tools/eccl-netlab/lab_state.h"
#include "tools/eccl-netlab/process_info.h"
#include "tools/eccl-netlab/tun_device.h"

namespace eccl::tools::netlab {
namespace {

constexpr int kPumpNice = -10;

int fail(const std::string& message) {
  std::printf("error %s\n", message.c_str());
  std::fflush(stdout);
  return 1;
}

// From here on the daemon writes only to its log: `up` stops reading stdout.
void redirectOutputToLog(const std::string& prefix) {
  const int log =
      open(daemonLogPath(prefix).c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log >= 0) {
    dup2(log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    close(log);
  }
  if (null_fd >= 0) {
    dup2(null_fd, STDIN_FILENO);
    close(null_fd);
  }
}

void logCounters(const LabSpec& spec, const std::vector<std::unique_ptr<DirectionPump>>& pumps) {
  for (size_t host = 0; host < pumps.size(); ++host) {
    const DirectionCounters& c = pumps[host]->counters();
    std::printf(
        "from %s: %llu packets, %llu wire bytes, %llu queue drops, %llu unroutable, "
        "%llu write errors\n",
        hostNamespace(spec.prefix, static_cast<int>(host)).c_str(),
        static_cast<unsigned long long>(c.packets.load()),
        static_cast<unsigned long long>(c.wire_bytes.load()),
        static_cast<unsigned long long>(c.queue_drops.load()),
        static_cast<unsigned long long>(c.unroutable_drops.load()),
        static_cast<unsigned long long>(c.write_errors.load()));
  }
  std::fflush(stdout);
}

int serve(const LabSpec& spec) {
  std::vector<int> tun_fds;
  for (int host = 0; host < spec.hosts; ++host) {
    auto tun = openTunInNamespace(hostNamespace(spec.prefix, host), kTunDevice, spec.gso);
    if (!tun) return fail(tun.status().message());
    tun_fds.push_back(*tun);
  }
  const auto start_ticks = processStartTicks(getpid());
  if (FILE* pidfile = std::fopen(pidfilePath(spec.prefix).c_str(), "w")) {
    std::fprintf(pidfile, "%d %llu\n", getpid(), start_ticks.value_or(0));
    std::fclose(pidfile);
  } else {
    return fail("cannot write " + pidfilePath(spec.prefix));
  }

  // Every thread inherits this mask; only sigwait() below takes these signals.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  for (int signal_number : {SIGTERM, SIGINT, SIGHUP})
    sigaddset(&stop_signals, signal_number);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  // Departures are timed to the microsecond: no 50 us timer slack. And the
  // link must not slow down when the lab's own workload fills the cores: the
  // pumps (which inherit both) run ahead of ordinary processes. They sleep
  // whenever nothing is due, so they cannot starve anyone.
  prctl(PR_SET_TIMERSLACK, 1UL);
  setpriority(PRIO_PROCESS, 0, kPumpNice);

  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<DirectionPump>> pumps;
  std::vector<std::thread> threads;
  for (int host = 0; host < spec.hosts; ++host)
    pumps.push_back(std::make_unique<DirectionPump>(spec, tun_fds, host));
  for (auto& pump : pumps)
    threads.emplace_back([&pump, &stop] { pump->run(stop); });

  std::printf("ready %d\n", getpid());
  std::fflush(stdout);
  redirectOutputToLog(spec.prefix);
  std::printf("delay line for %s: %d hosts, %llu bit/s, %lld us one-way, queue %llu bytes\n",
              spec.prefix.c_str(), spec.hosts, static_cast<unsigned long long>(spec.rate_bps),
              static_cast<long long>(spec.delay.count()),
              static_cast<unsigned long long>(queueLimitBytes(spec)));
  std::fflush(stdout);

  int received = 0;
  sigwait(&stop_signals, &received);
  stop.store(true);
  for (auto& thread : threads)
    thread.join();
  logCounters(spec, pumps);
  for (int fd : tun_fds)
    close(fd);
  unlink(pidfilePath(spec.prefix).c_str());
  return 0;
}

}  // namespace

int runDelayLineDaemon(const std::string& spec_json) {
  auto spec = specFromJson(spec_json);
  if (!spec) return fail(spec.status().message());
  // Detach: the parent returns at once; the child leads its own session, so it
  // outlives `up` and is no part of the caller's terminal or process group.
  const pid_t child = fork();
  if (child < 0) return fail("fork failed");
  if (child > 0) return 0;
  setsid();
  if (chdir("/") != 0) return fail("chdir /");
  return serve(*spec);
}

}  // namespace eccl::tools::netlab
