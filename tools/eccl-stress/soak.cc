#include "tools/eccl-stress/soak.h"

#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <iterator>
#include <thread>

#include "tools/eccl-stress/master_findings.h"

namespace eccl::tools::stress {
namespace {

using std::chrono::milliseconds;

// How often the loop looks at the pipes, the schedule and the clocks.
constexpr auto kTick = milliseconds(5);
constexpr auto kAdmissionTimeout = std::chrono::seconds(30);
// After the closing SIGTERM, how long a peer may take to leave its group.
constexpr auto kLeaveTimeout = std::chrono::seconds(10);
constexpr size_t kLogTailLines = 5;

int64_t msBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration_cast<milliseconds>(to - from).count();
}

// A step line's steady_clock stamp (the same clock in every process of the machine).
Clock::time_point fromSteadyNs(int64_t t_ns) {
  return Clock::time_point(
      std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(t_ns)));
}

}  // namespace

Soak::Soak(StressOptions options, std::string bin_dir, std::string work_dir,
           const bench::NetlabSession* lab)
    : options_(std::move(options)),
      work_dir_(std::move(work_dir)),
      master_binary_(bin_dir + "/eccl-master"),
      lab_(lab) {
  launch_.binary = bin_dir + "/eccl-peer";
  launch_.lab = lab;
  launch_.work_dir = work_dir_;
  launch_.size_bytes = options_.size_bytes;
  launch_.step = options_.step;
  launch_.op_timeout = options_.detection.op_timeout;
  // Never 0 (that is eccl-peer's uniform pattern): the inputs vary with the seed.
  launch_.input_seed = options_.seed * 2 + 1;
  if (options_.state_bytes > 0) {
    launch_.workload_args = {"--state-size", std::to_string(options_.state_bytes), "--state-every",
                             std::to_string(options_.state_every)};
  }
  if (!options_.quant.empty()) {
    launch_.workload_args.insert(launch_.workload_args.end(), {"--quant", options_.quant});
  }
  summary_.seed = options_.seed;
  summary_.peers = options_.peers;
  summary_.stuck_bound_ms = options_.detection.stuckBound().count();
  if (lab != nullptr) summary_.netlab = lab->spec().text;
}

void Soak::say(const char* format, ...) {
  const double seconds = std::chrono::duration<double>(Clock::now() - training_start_).count();
  std::printf("[%9.3f s] ", seconds);
  va_list args;
  va_start(args, format);
  std::vprintf(format, args);
  va_end(args);
  std::printf("\n");
  std::fflush(stdout);
}

int Soak::run() {
  const auto schedule = makeSchedule(options_.seed, options_.rates, options_.duration);
  std::printf("schedule (seed %llu): %zu faults\n", static_cast<unsigned long long>(options_.seed),
              schedule.size());
  for (const auto& fault : schedule)
    std::printf("  %9.3f s  %s\n", static_cast<double>(fault.at.count()) / 1000.0,
                describeFault(fault).c_str());
  std::fflush(stdout);

  if (Status started = startFleet(); !started) {
    std::fprintf(stderr, "eccl-stress: %s\n", started.toString().c_str());
    return 2;
  }
  training_start_ = Clock::now();
  training_start_wall_ = std::chrono::system_clock::now();
  say("training: %d peers admitted", options_.peers);

  size_t next_fault = 0;
  auto next_progress = training_start_ + options_.progress_every;
  const auto until = training_start_ + options_.duration;
  while (Clock::now() < until && master_ != nullptr) {
    const auto elapsed = Clock::now() - training_start_;
    while (next_fault < schedule.size() && schedule[next_fault].at <= elapsed)
      applyFault(schedule[next_fault++]);
    endDueHangs();
    pumpAll();
    checkStuck();
    checkMaster();
    if (Clock::now() >= next_progress) {
      printProgress();
      next_progress += options_.progress_every;
    }
    std::this_thread::sleep_for(kTick);
  }
  training_end_ = Clock::now();
  shutDown();

  const Summary summary = summarize();
  std::printf("%s", formatSummaryText(summary).c_str());
  if (options_.json) std::printf("%s\n", formatSummaryJson(summary).c_str());
  std::fflush(stdout);
  return summary.passed() ? 0 : 1;
}

Status Soak::startFleet() {
  auto master =
      MasterChild::start(master_binary_, work_dir_, options_.detection, options_.master_args, lab_);
  if (!master) return master.status();
  master_ = std::move(*master);
  launch_.master = master_->address();
  std::printf("eccl-master on %s\n", launch_.master.c_str());
  for (int i = 0; i < options_.peers; ++i)
    ECCL_RETURN_IF_ERROR(spawnPeer());
  // Faults start once the whole initial fleet trains.
  training_start_ = Clock::now();
  const auto until = training_start_ + kAdmissionTimeout;
  while (true) {
    pumpAll();
    const bool all_admitted =
        std::all_of(peers_.begin(), peers_.end(), [](const auto& peer) { return peer->stepped; });
    if (all_admitted) return Status::ok();
    for (const auto& peer : peers_) {
      if (peer->gone()) {
        return internalError("peer " + std::to_string(peer->index) + " " +
                             ChildProcess::describeExit(peer->child->waitStatus()) +
                             " before its first step:\n" + peer->logTail(kLogTailLines));
      }
    }
    if (Clock::now() >= until) return timeoutError("the initial peers did not all finish a step");
    std::this_thread::sleep_for(kTick);
  }
}

Status Soak::spawnPeer() {
  const int index = static_cast<int>(peers_.size());
  std::vector<std::string> extra;
  if (index == 0 && options_.corrupt_step != 0)
    extra = {"--corrupt-step", std::to_string(options_.corrupt_step)};
  // A joiner starts from zeros and takes the group's state at its first sync.
  if (index >= options_.peers && options_.state_bytes > 0) extra.push_back("--state-receive");
  PeerLaunch launch = launch_;
  if (index == 0) launch.step += options_.straggler_extra;
  auto peer = StressPeer::spawn(index, lab_ != nullptr ? leastBusyHost() : -1, launch, extra);
  if (!peer) return peer.status();
  peers_.push_back(std::move(*peer));
  return Status::ok();
}

int Soak::leastBusyHost() const {
  std::vector<int> running(static_cast<size_t>(lab_->hosts()), 0);
  for (const auto& peer : peers_) {
    if (!peer->gone() && !peer->killed && peer->host >= 0) ++running[peer->host];
  }
  return static_cast<int>(std::min_element(running.begin(), running.end()) - running.begin());
}

std::vector<StressPeer*> Soak::healthyPeers() const {
  std::vector<StressPeer*> healthy;
  for (const auto& peer : peers_) {
    if (peer->healthy()) healthy.push_back(peer.get());
  }
  return healthy;
}

int Soak::livePeers() const {
  return static_cast<int>(std::count_if(peers_.begin(), peers_.end(), [](const auto& peer) {
    return !peer->gone() && !peer->killed;
  }));
}

int Soak::stoppedPeers() const {
  return static_cast<int>(
      std::count_if(peers_.begin(), peers_.end(), [](const auto& peer) { return peer->stopped; }));
}

void Soak::applyFault(const FaultEvent& fault) {
  // The fleet keeps at least two running peers, and at most max_peers.
  constexpr int kFloor = 2;
  const int cap = options_.max_peers > 0 ? options_.max_peers : 2 * options_.peers;
  if (fault.kind == FaultKind::kJoin) {
    if (livePeers() >= cap) {
      ++summary_.skipped_faults;
      say("join skipped: %d peers live (cap %d)", livePeers(), cap);
      return;
    }
    if (Status spawned = spawnPeer(); !spawned) {
      ++summary_.crashes;
      say("join FAILED: cannot start a peer: %s", spawned.toString().c_str());
      return;
    }
    ++summary_.joins;
    say("join: peer %d started (pid %d), %d live", peers_.back()->index,
        static_cast<int>(peers_.back()->child->pid()), livePeers());
    return;
  }
  const auto healthy = healthyPeers();
  if (static_cast<int>(healthy.size()) <= kFloor) {
    ++summary_.skipped_faults;
    say("%s skipped: only %zu running peers", faultName(fault.kind), healthy.size());
    return;
  }
  StressPeer& victim = *healthy[fault.pick % healthy.size()];
  const int pid = static_cast<int>(victim.child->pid());
  switch (fault.kind) {
    case FaultKind::kKill:
      victim.killed = true;
      victim.child->signal(SIGKILL);
      ++summary_.kills;
      say("kill: SIGKILL peer %d (pid %d)", victim.index, pid);
      break;
    case FaultKind::kHang:
      victim.stopped = true;
      victim.hung = true;
      victim.hang_ends = Clock::now() + fault.hold;
      victim.hang_resumes = fault.resume;
      victim.child->signal(SIGSTOP);
      ++summary_.hangs;
      say("hang: SIGSTOP peer %d (pid %d) for %lld ms, then %s", victim.index, pid,
          static_cast<long long>(fault.hold.count()), fault.resume ? "SIGCONT" : "SIGKILL");
      break;
    case FaultKind::kLeave:
      victim.leaving = true;
      victim.last_progress = Clock::now();  // from now on: the time it takes to leave
      victim.child->signal(SIGTERM);
      ++summary_.leaves;
      say("leave: SIGTERM peer %d (pid %d)", victim.index, pid);
      break;
    case FaultKind::kJoin:
      break;
  }
}

void Soak::endDueHangs() {
  const auto now = Clock::now();
  for (auto& peer : peers_) {
    if (!peer->stopped || !peer->hang_ends || *peer->hang_ends > now) continue;
    peer->stopped = false;
    peer->hang_ends.reset();
    if (peer->hang_resumes) {
      peer->child->signal(SIGCONT);
      // Its progress clock restarts: it either rejoins its ring's steps or finds itself removed.
      peer->last_progress = now;
      peer->stepped = false;
      ++summary_.hangs_resumed;
      say("hang over: SIGCONT peer %d", peer->index);
    } else {
      peer->killed = true;
      peer->child->signal(SIGKILL);
      say("hang over: SIGKILL peer %d", peer->index);
    }
  }
}

void Soak::pumpAll() {
  for (auto& peer : peers_) {
    if (peer->gone()) continue;
    pump(*peer);
    // Whatever it wrote before exiting is in the pipe still: read it before judging.
    if (peer->child->hasExited()) {
      pump(*peer);
      judgeExit(*peer);
    }
  }
}

void Soak::pump(StressPeer& peer) {
  while (true) {
    auto line = peer.child->readLine(milliseconds(0));
    if (!line) return;
    onLine(peer, *line);
  }
}

void Soak::onLine(StressPeer& peer, const std::string& text) {
  auto line = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (line.is_discarded() || !line.is_object()) {
    ++summary_.bad_lines;
    say("BAD LINE from peer %d: %s", peer.index, text.c_str());
    return;
  }
  std::string detail;
  switch (checker_.onLine(peer.index, line, &detail)) {
    case StepVerdict::kOk: {
      const auto at = fromSteadyNs(line.value("t_ns", int64_t{0}));
      if (peer.stepped)
        summary_.max_stall_ms = std::max(summary_.max_stall_ms, msBetween(peer.last_progress, at));
      peer.stepped = true;
      peer.last_progress = std::max(peer.last_progress, at);
      ++peer.ok_steps;
      break;
    }
    case StepVerdict::kFailed:
      if (failed_revisions_printed_.insert(line.value("revision", uint64_t{0})).second)
        say("step failed on peer %d (world %d) at %s", peer.index, line.value("world_size", 0),
            detail.c_str());
      break;
    case StepVerdict::kWrongResult:
      // (It exits 1 next: that exit is this failure, not a crash too.)
      fail(peer, "WRONG RESULT from peer " + std::to_string(peer.index) + " at " + detail);
      break;
    case StepVerdict::kParityFailure:
      say("PARITY FAILURE at %s", detail.c_str());
      break;
    case StepVerdict::kStateOk:
    case StepVerdict::kStateFailed:  // counted; the next step's update settles the fault
      break;
    case StepVerdict::kNotAStep:
      if (line.value("event", "") == "admitted" && !peer.admitted) {
        peer.admitted = true;
        if (Clock::now() > training_start_ && peer.index >= options_.peers)
          say("peer %d admitted: rank %d of %d, revision %llu", peer.index, line.value("rank", -1),
              line.value("world_size", 0),
              static_cast<unsigned long long>(line.value("revision", uint64_t{0})));
      }
      break;
  }
}

void Soak::fail(StressPeer& peer, const std::string& what) {
  peer.reported = true;
  say("%s", what.c_str());
}

void Soak::judgeExit(StressPeer& peer) {
  const int status = peer.child->waitStatus();
  const std::string how = ChildProcess::describeExit(status);
  const std::string expected = peer.expectedExit(status);
  if (!expected.empty()) {
    if (!peer.killed && !peer.shutting_down)
      say("peer %d %s (%s)", peer.index, how.c_str(), expected.c_str());
    return;
  }
  if (peer.reported) {
    say("peer %d %s after the failure above", peer.index, how.c_str());
    return;
  }
  ++summary_.crashes;
  say("CRASH: peer %d %s, nothing the soak did explains it; its stderr ends:\n%s", peer.index,
      how.c_str(), peer.logTail(kLogTailLines).c_str());
}

void Soak::checkStuck() {
  const auto now = Clock::now();
  const auto bound = options_.detection.stuckBound();
  for (auto& peer : peers_) {
    const bool watched = !peer->gone() && !peer->stopped && !peer->killed && !peer->reported;
    if (!watched || now - peer->last_progress <= bound) continue;
    ++summary_.stuck;
    fail(*peer, "STUCK: peer " + std::to_string(peer->index) + " " +
                    (peer->leaving ? "has not left" : "has finished no step") + " for " +
                    std::to_string(msBetween(peer->last_progress, now)) + " ms (bound " +
                    std::to_string(bound.count()) + " ms); its stderr ends:\n" +
                    peer->logTail(kLogTailLines));
  }
}

void Soak::checkMaster() {
  if (!master_->process().hasExited()) return;
  ++summary_.crashes;
  say("CRASH: eccl-master %s", ChildProcess::describeExit(master_->process().waitStatus()).c_str());
  master_.reset();
}

void Soak::printProgress() {
  const auto& counts = checker_.counts();
  say("progress: steps %llu, peers %d (%d stopped), joins %llu, kills %llu, hangs %llu, leaves "
      "%llu, failed steps %llu, failures %llu",
      static_cast<unsigned long long>(checker_.opsCompleted()), livePeers(), stoppedPeers(),
      static_cast<unsigned long long>(summary_.joins),
      static_cast<unsigned long long>(summary_.kills),
      static_cast<unsigned long long>(summary_.hangs),
      static_cast<unsigned long long>(summary_.leaves),
      static_cast<unsigned long long>(counts.failed_steps),
      static_cast<unsigned long long>(counts.parity_failures + counts.wrong_results +
                                      summary_.crashes + summary_.stuck + summary_.bad_lines));
}

void Soak::shutDown() {
  summary_.peers_at_end = livePeers();
  for (auto& peer : peers_) {
    if (peer->gone()) continue;
    peer->shutting_down = true;
    peer->child->signal(SIGTERM);
    // A stopped peer takes the SIGTERM once it runs again.
    if (peer->stopped) peer->child->signal(SIGCONT);
    peer->stopped = false;
  }
  const auto until = Clock::now() + kLeaveTimeout;
  auto running = [&] {
    return std::any_of(peers_.begin(), peers_.end(),
                       [](const auto& peer) { return !peer->gone(); });
  };
  while (running() && Clock::now() < until) {
    pumpAll();
    std::this_thread::sleep_for(kTick);
  }
  for (auto& peer : peers_) {
    if (peer->gone()) continue;
    if (!peer->reported) ++summary_.stuck;
    say("STUCK: peer %d did not leave within %lld s of SIGTERM", peer->index,
        static_cast<long long>(
            std::chrono::duration_cast<std::chrono::seconds>(kLeaveTimeout).count()));
    peer->reported = true;
    peer->killed = true;
    peer->child->stop(milliseconds(0));
  }
  if (master_ != nullptr) {
    master_->process().stop(std::chrono::seconds(5));
    if (!ChildProcess::exitedCleanly(master_->process().waitStatus())) {
      ++summary_.crashes;
      say("CRASH: eccl-master %s when stopped",
          ChildProcess::describeExit(master_->process().waitStatus()).c_str());
    }
  }
}

Summary Soak::summarize() const {
  Summary summary = summary_;
  const auto& counts = checker_.counts();
  summary.duration_s = std::chrono::duration<double>(training_end_ - training_start_).count();
  summary.steps = checker_.opsCompleted();
  summary.ok_step_lines = counts.ok_steps;
  summary.failed_steps = counts.failed_steps;
  summary.failures_by_code = counts.failures_by_code;
  summary.parity_checks = counts.parity_checks;
  summary.parity_failures = counts.parity_failures;
  summary.wrong_results = counts.wrong_results;
  summary.state_syncs = counts.state_syncs;
  summary.failed_state_syncs = counts.failed_state_syncs;
  summary.state_parity_checks = counts.state_parity_checks;
  summary.state_revisions = checker_.stateRevisions();
  summary.quant = options_.quant;
  for (const auto& peer : peers_)
    summary.max_peer_steps = std::max(summary.max_peer_steps, peer->ok_steps);
  // The master logs its findings with local times of day.
  std::ifstream log(work_dir_ + "/master.log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  const MasterFindings findings = parseMasterFindings(text);
  const std::time_t start = std::chrono::system_clock::to_time_t(training_start_wall_);
  std::tm local{};
  localtime_r(&start, &local);
  const double start_of_day =
      local.tm_hour * 3600.0 + local.tm_min * 60.0 + local.tm_sec +
      std::chrono::duration<double>(training_start_wall_ -
                                    std::chrono::system_clock::from_time_t(start))
          .count();
  summary.anomalies = findings.count;
  for (const auto& [kind, at] : findings.first_at) {
    double after = at - start_of_day;
    if (after < -1) after += 86'400;  // the soak crossed midnight
    summary.first_anomaly_s[kind] = after;
  }
  return summary;
}

}  // namespace eccl::tools::stress
