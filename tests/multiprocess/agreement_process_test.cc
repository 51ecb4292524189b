// Survivors agree on a collective's outcome, across real processes: a
// randomized fault soak. Each round starts a master and N eccl-peer trainers
// (an update and a checked all-reduce every step), lets them train at world N,
// then SIGKILLs or SIGSTOPs one peer at a random moment (a stopped one gets
// SIGCONT once the master has declared it lost: it finds itself removed). Then:
// at every revision where survivors reported a step, they all reported the
// same outcome (all ok or all failed); the survivors train again at N-1; no
// sum was wrong; every child is gone. The seed is printed and ECCL_SOAK_SEED
// replays a run's choices (victim, moment; the timing itself never repeats).
// ECCL_SOAK=1 enables the full matrix (ECCL_SOAK_ROUNDS rounds per cell).
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <thread>

#include "tests/multiprocess/process_cluster.h"

namespace eccl::test {
namespace {

using Clock = std::chrono::steady_clock;
using Json = nlohmann::json;

enum class Fault { kKill, kStop };

struct Round {
  int peers = 3;
  std::string size;  // --allreduce-size
  Fault fault = Fault::kKill;
};

// What the rounds saw at the fault revision: the first op any survivor
// finished after the fault.
struct Tally {
  int rounds = 0;
  int failed = 0;     // that op failed on every survivor
  int succeeded = 0;  // it still succeeded at world N on every survivor
  int between = 0;    // the fault fell between ops: that op already ran at N-1
  int failed_lines = 0;
  int ok_lines = 0;
  int violations = 0;
};

constexpr int kStepMs = 5;

std::string faultName(Fault fault) {
  return fault == Fault::kKill ? "SIGKILL" : "SIGSTOP";
}

bool isStep(const Json& line) {
  return line.value("event", "") == "step";
}

bool isOkStep(const Json& line, int world) {
  return isStep(line) && line.value("world_size", 0) == world && line.value("ok", false);
}

const char* envOr(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? value : fallback;
}

uint32_t soakSeed() {
  if (const char* text = std::getenv("ECCL_SOAK_SEED"); text != nullptr && *text != '\0')
    return static_cast<uint32_t>(std::strtoul(text, nullptr, 10));
  return std::random_device{}();
}

class AgreementProcesses : public ProcessCluster {
 protected:
  void SetUp() override {
    ProcessCluster::SetUp();
    seed_ = soakSeed();
    rng_.seed(seed_);
  }

  // Reads what every peer printed so far, a little at a time, so that no pipe fills up.
  // (drain() reads nothing when its wait rounds down to 0 ms: 2 ms reads for about 1.)
  void pump() {
    for (auto& peer : peers_)
      peer->drain(2ms);
  }

  // True once each of `who` printed a line matching `match` at or after from[i].
  bool waitAll(const std::vector<PeerProcess*>& who, const std::vector<size_t>& from,
               const std::function<bool(const Json&)>& match, milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    while (true) {
      bool all = true;
      for (size_t i = 0; i < who.size() && all; ++i) {
        const auto& lines = who[i]->lines();
        all = std::any_of(lines.begin() + static_cast<ptrdiff_t>(std::min(from[i], lines.size())),
                          lines.end(), match);
      }
      if (all) return true;
      if (Clock::now() >= until) return false;
      pump();
    }
  }

  // Waits (pumping the others' output) for `peer` to exit; its wait status.
  std::optional<int> waitExit(PeerProcess& peer, milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    while (!peer.process().hasExited()) {
      if (Clock::now() >= until) return std::nullopt;
      pump();
    }
    return peer.process().waitStatus();
  }

  static std::vector<size_t> lineCounts(const std::vector<PeerProcess*>& who) {
    std::vector<size_t> counts;
    for (auto* peer : who)
      counts.push_back(peer->lines().size());
    return counts;
  }

  // The time between two steps at world `world`: the median gap between a peer's step lines.
  milliseconds stepPeriod(int world) {
    std::vector<int64_t> gaps;
    for (auto& peer : peers_) {
      int64_t last = 0;
      for (const auto& line : peer->lines()) {
        if (!isOkStep(line, world)) continue;
        const auto t = line["t_ns"].get<int64_t>();
        if (last != 0) gaps.push_back(t - last);
        last = t;
      }
    }
    if (gaps.empty()) return milliseconds(kStepMs);
    std::nth_element(gaps.begin(), gaps.begin() + static_cast<ptrdiff_t>(gaps.size() / 2),
                     gaps.end());
    return std::chrono::duration_cast<milliseconds>(
        std::chrono::nanoseconds(gaps[gaps.size() / 2]));
  }

  // (a): at every revision, the survivors that reported a step there reported the same outcome.
  // Returns the fault revision (the first op a survivor finished after fault_ns), 0 if none.
  uint64_t checkAgreement(const std::vector<PeerProcess*>& survivors, PeerProcess& victim,
                          int64_t fault_ns, const std::string& round, Tally& tally) {
    std::map<uint64_t, std::vector<std::pair<size_t, Json>>> by_revision;
    uint64_t fault_revision = 0;
    for (size_t i = 0; i < survivors.size(); ++i) {
      bool first_after = true;
      for (const auto& line : survivors[i]->lines()) {
        if (!isStep(line)) continue;
        const auto revision = line["revision"].get<uint64_t>();
        by_revision[revision].emplace_back(i, line);
        if (first_after && line["t_ns"].get<int64_t>() > fault_ns) {
          first_after = false;
          if (fault_revision == 0 || revision < fault_revision) fault_revision = revision;
        }
      }
    }
    for (const auto& [revision, entries] : by_revision) {
      const bool ok = entries.front().second["ok"].get<bool>();
      const bool agreed = std::all_of(entries.begin(), entries.end(),
                                      [&](const auto& e) { return e.second["ok"] == ok; });
      if (agreed) continue;
      ++tally.violations;
      std::ostringstream report;
      report << "AGREEMENT VIOLATED at revision " << revision << " (seed " << seed_ << ", " << round
             << "): survivors' step lines at that revision:";
      for (const auto& [index, line] : entries)
        report << "\n  survivor " << index << " (" << survivors[index]->id().substr(0, 8)
               << "): " << line.dump();
      for (const auto& line : victim.lines()) {
        if (isStep(line) && line["revision"] == revision)
          report << "\n  victim (no survivor): " << line.dump();
      }
      ADD_FAILURE() << report.str();
    }
    return fault_revision;
  }

  void runRound(const Round& round, int index, Tally& tally) {
    std::ostringstream name;
    name << "round " << index << ": " << round.peers << " peers, " << round.size << ", "
         << faultName(round.fault);
    SCOPED_TRACE(name.str() + ", seed " + std::to_string(seed_));
    // Every draw happens here, whatever the round's timing, so a seed replays the choices.
    const size_t victim_index =
        std::uniform_int_distribution<size_t>(0, static_cast<size_t>(round.peers) - 1)(rng_);
    const double moment = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);

    peers_.clear();
    master_.reset();
    startMaster();
    ASSERT_TRUE(master_ != nullptr);
    const std::vector<std::string> trainer = {"--allreduce-size", round.size, "--step-ms",
                                              std::to_string(kStepMs)};
    for (int i = 0; i < round.peers; ++i) {
      addPeer(trainer);
      ASSERT_TRUE(peers_.back() != nullptr);
    }
    const auto all = peers();
    const std::vector<size_t> zeros(all.size(), 0);
    ASSERT_TRUE(waitAll(
        all, zeros, [](const Json& l) { return l["event"] == "admitted"; }, deadline(20s)))
        << "not every peer was admitted";
    for (auto* peer : all)
      ASSERT_TRUE(peer->waitAdmitted(0ms));  // records its id
    // A few steps each at world N: training is steady, and the steps' period is known.
    for (int step = 0; step < 3; ++step) {
      ASSERT_TRUE(waitAll(
          all, step == 0 ? zeros : lineCounts(all),
          [&](const Json& l) { return isOkStep(l, round.peers); }, deadline(60s)))
          << "the peers never trained at world " << round.peers;
    }

    // The fault, at a random moment within one step period.
    const milliseconds period = stepPeriod(round.peers);
    const auto delay = std::chrono::duration_cast<milliseconds>(period * moment);
    std::this_thread::sleep_for(delay);
    PeerProcess& victim = *peers_[victim_index];
    const auto survivors = peers({victim_index});
    const int64_t fault_ns = steadyNowNs();
    ASSERT_TRUE(victim.process().signal(round.fault == Fault::kKill ? SIGKILL : SIGSTOP));
    const auto from = lineCounts(survivors);
    const auto fault_time = Clock::now();
    std::optional<int> victim_exit;
    if (round.fault == Fault::kStop) {
      const std::string lost = victim.id();
      EXPECT_TRUE(waitAll(
          survivors, from, [&](const Json& l) { return l["event"] == "lost" && l["peer"] == lost; },
          deadline(20s)))
          << "the master never declared the stopped peer lost";
      ASSERT_TRUE(victim.process().signal(SIGCONT));
    }
    // (b): every survivor trains again at N-1 within the bound.
    const bool recovered = waitAll(
        survivors, from, [&](const Json& l) { return isOkStep(l, round.peers - 1); },
        deadline(30s));
    const double recovery_s = std::chrono::duration<double>(Clock::now() - fault_time).count();
    EXPECT_TRUE(recovered) << "the survivors did not all train at world " << round.peers - 1
                           << " within 30 s of the fault";
    victim_exit = waitExit(victim, deadline(20s));
    EXPECT_TRUE(victim_exit) << "the victim did not exit";
    if (victim_exit && round.fault == Fault::kStop) {
      EXPECT_TRUE(WIFEXITED(*victim_exit) && WEXITSTATUS(*victim_exit) == 3)
          << "a stopped peer that finds itself removed exits 3, this one "
          << ChildProcess::describeExit(*victim_exit);
    }
    // A few more steps on the new ring.
    const auto more = lineCounts(survivors);
    EXPECT_TRUE(waitAll(
        survivors, more, [&](const Json& l) { return isOkStep(l, round.peers - 1); },
        deadline(30s)));

    const uint64_t fault_revision = checkAgreement(survivors, victim, fault_ns, name.str(), tally);
    int failed = 0;
    int ok = 0;
    int fault_world = 0;
    for (auto& peer : peers_) {
      for (const auto& line : peer->lines()) {
        // (c): a wrong sum is an InternalError step line (and exit code 1), on anyone.
        EXPECT_FALSE(isStep(line) && line.value("code", "") == "InternalError") << line.dump();
        if (peer.get() == &victim || !isStep(line) || line["revision"] != fault_revision) continue;
        fault_world = line["world_size"].get<int>();
        (line["ok"].get<bool>() ? ok : failed) += 1;
      }
    }
    tally.failed_lines += failed;
    tally.ok_lines += ok;
    if (fault_world == round.peers) {
      (failed > 0 ? tally.failed : tally.succeeded) += 1;
    } else {
      tally.between += 1;
    }
    ++tally.rounds;
    std::printf(
        "%s, victim %zu at +%lld ms (%.2f of a %lld ms step): fault revision %llu at world %d: "
        "%d failed, %d ok; "
        "world %d trains %.2f s after the fault; victim %s\n",
        name.str().c_str(), victim_index, static_cast<long long>(delay.count()), moment,
        static_cast<long long>(period.count()), static_cast<unsigned long long>(fault_revision),
        fault_world, failed, ok, round.peers - 1, recovery_s,
        victim_exit ? ChildProcess::describeExit(*victim_exit).c_str() : "still running");
    std::fflush(stdout);

    // (c), (d): the survivors leave cleanly (code 0, not 1: no wrong sum), then the master.
    for (auto* survivor : survivors)
      EXPECT_TRUE(survivor->process().signal(SIGTERM));
    for (auto* survivor : survivors) {
      auto code = waitExit(*survivor, deadline(15s));
      EXPECT_TRUE(code) << survivor->describe() << " did not exit after SIGTERM";
      if (code) {
        EXPECT_TRUE(ChildProcess::exitedCleanly(*code)) << survivor->describe();
      }
    }
    ASSERT_TRUE(master_->process().signal(SIGTERM));
    auto master_code = master_->process().wait(deadline(10s));
    EXPECT_TRUE(master_code) << "eccl-master did not exit after SIGTERM";
    if (master_code) {
      EXPECT_TRUE(ChildProcess::exitedCleanly(*master_code));
    }
    for (auto& peer : peers_) {
      if (!peer->process().reaped()) peer->process().stop(0ms);
    }
    if (!master_->process().reaped()) master_->process().stop(0ms);
    peers_.clear();
    master_.reset();
  }

  void runRounds(const std::vector<Round>& rounds) {
    std::printf("seed %u (ECCL_SOAK_SEED=%u replays this run's choices)\n", seed_, seed_);
    std::fflush(stdout);
    Tally tally;
    const auto start = Clock::now();
    for (size_t i = 0; i < rounds.size(); ++i) {
      runRound(rounds[i], static_cast<int>(i), tally);
      if (HasFatalFailure()) break;
    }
    std::printf(
        "%d rounds in %.1f s (seed %u): the fault's op failed on every survivor in %d, "
        "succeeded on every survivor in %d, fell between ops in %d; step lines at the fault "
        "revisions: %d failed, %d ok; agreement violations: %d\n",
        tally.rounds, std::chrono::duration<double>(Clock::now() - start).count(), seed_,
        tally.failed, tally.succeeded, tally.between, tally.failed_lines, tally.ok_lines,
        tally.violations);
    std::fflush(stdout);
  }

  uint32_t seed_ = 0;
  std::mt19937 rng_;
};

TEST_F(AgreementProcesses, SurvivorsAgreeThroughARandomFault) {
  // Every N with both sizes and both faults (victim and moment drawn from the seed).
  runRounds({{3, "1M", Fault::kKill},
             {3, "16M", Fault::kStop},
             {4, "1M", Fault::kStop},
             {4, "16M", Fault::kKill},
             {5, "1M", Fault::kKill},
             {5, "16M", Fault::kStop},
             {6, "1M", Fault::kStop},
             {6, "16M", Fault::kKill}});
}

// The full matrix, by hand: ECCL_SOAK=1 [ECCL_SOAK_ROUNDS=3] [ECCL_SOAK_SEED=n].
TEST_F(AgreementProcesses, SoakMatrix) {
  if (std::string(envOr("ECCL_SOAK", "0")) != "1")
    GTEST_SKIP() << "the full fault matrix runs only with ECCL_SOAK=1 (minutes)";
  const int repeats = std::max(1, std::atoi(envOr("ECCL_SOAK_ROUNDS", "3")));
  std::vector<Round> rounds;
  for (int repeat = 0; repeat < repeats; ++repeat) {
    for (const char* size : {"1M", "16M", "64M", "256M"}) {
      for (int peers = 3; peers <= 6; ++peers) {
        for (Fault fault : {Fault::kKill, Fault::kStop})
          rounds.push_back({peers, size, fault});
      }
    }
  }
  runRounds(rounds);
}

}  // namespace
}  // namespace eccl::test
