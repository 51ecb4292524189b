#include "tools/eccl-swarm/scenario.h"

#include <algorithm>
#include <cstdio>
#include <thread>

namespace eccl::tools::swarm {
namespace {

double millisecondsBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

void note(const std::string& line) {
  std::fprintf(stderr, "eccl-swarm: %s\n", line.c_str());
}

class Scenario {
 public:
  Scenario(Swarm& swarm, const InprocessMaster* master, const ScenarioOptions& options,
           Figures& figures)
      : swarm_(swarm), board_(swarm.board()), master_(master), options_(options), f_(figures) {}

  Status run() {
    if (Status s = registerAll(); !s.isOk()) return s.withContext("phase 1 (register)");
    if (Status s = admitAll(); !s.isOk()) return s.withContext("phase 2 (first admission)");
    if (Status s = steady(); !s.isOk()) return s.withContext("phase 3 (steady heartbeats)");
    if (Status s = churn(); !s.isOk()) return s.withContext("phase 4 (churn)");
    if (Status s = leaveAll(); !s.isOk()) return s.withContext("phase 5 (all leave)");
    return Status::ok();
  }

 private:
  Clock::time_point deadline() const { return Clock::now() + options_.phase_timeout; }

  // Spawns n peers and waits until the master has registered all of them.
  Status spawnRegistered(size_t n, PeerList& into) {
    const uint64_t before = board_.read().registered;
    PeerList fresh = swarm_.spawn(n);
    into.insert(into.end(), fresh.begin(), fresh.end());
    return board_.waitUntil([&](const Progress& p) { return p.registered >= before + n; },
                            deadline(), "waiting for " + std::to_string(n) + " registrations");
  }

  Status registerAll() {
    note("phase 1: registering " + std::to_string(options_.peers) + " peers");
    const auto start = Clock::now();
    const size_t batch = options_.register_batch == 0 ? options_.peers : options_.register_batch;
    for (size_t spawned = 0; spawned < options_.peers; spawned += batch) {
      Status s = spawnRegistered(std::min(batch, options_.peers - spawned), live_);
      if (!s.isOk()) return s;
    }
    f_.register_s = std::chrono::duration<double>(Clock::now() - start).count();
    // The first registrant of an empty group is admitted on its own at once.
    return board_.waitUntil([](const Progress& p) { return p.committed >= 1; }, deadline(),
                            "waiting for the first peer's admission");
  }

  // The peers of `live_` that are accepted vote; every live peer must commit
  // the same new revision. Returns the time from the first vote to the last commit.
  Result<double> update(const std::string& what) {
    PeerList voters;
    for (auto& peer : live_) {
      if (peer->revision() != 0) voters.push_back(peer);
    }
    if (voters.empty()) return internalError(what + ": no accepted peer to vote");
    const uint64_t revision = voters.front()->revision();
    for (auto& voter : voters) {
      if (voter->revision() != revision) {
        return internalError(what + ": accepted peers disagree on the revision");
      }
    }
    const uint64_t before = board_.read().committed;
    const size_t members = live_.size();
    const auto start = Clock::now();
    for (auto& voter : voters)
      voter->vote();
    Status done = board_.waitUntil(
        [&](const Progress& p) { return p.committed >= before + members; }, deadline(),
        what + ": waiting for " + std::to_string(members) + " commits");
    if (!done.isOk()) return done;
    const auto last_commit = board_.read().last_commit;
    const uint64_t next = live_.front()->revision();
    for (auto& peer : live_) {
      if (peer->revision() != next || next <= revision) {
        return internalError(what + ": peers committed different revisions");
      }
    }
    return millisecondsBetween(start, last_commit);
  }

  Status admitAll() {
    note("phase 2: first admission (the accepted peer votes, " +
         std::to_string(options_.peers - 1) + " pending join)");
    auto admitted = update("admission");
    if (!admitted) return admitted.status();
    f_.admit_ms = *admitted;
    note("phase 2: unanimous update (all " + std::to_string(live_.size()) + " vote)");
    auto unanimous = update("unanimous update");
    if (!unanimous) return unanimous.status();
    f_.unanimous_ms = *unanimous;
    return Status::ok();
  }

  Status steady() {
    note("phase 3: steady heartbeats for " +
         std::to_string(std::chrono::duration<double>(options_.steady).count()) + " s");
    const auto start = Clock::now();
    const auto cpu_start = master_ ? master_->cpuTime() : std::chrono::nanoseconds(0);
    const uint64_t acks_start = board_.acks.load();
    const auto end = start + options_.steady;
    // Sleeps in short steps so that a peer's failure ends the phase early.
    Status healthy = board_.waitUntil([&](const Progress&) { return Clock::now() >= end; }, end,
                                      "steady heartbeats");
    if (!healthy.isOk() && healthy.code() != Code::kTimeout) return healthy;
    const auto stop = Clock::now();
    const auto cpu_stop = master_ ? master_->cpuTime() : std::chrono::nanoseconds(0);
    const uint64_t acks_stop = board_.acks.load();
    const double wall = std::chrono::duration<double>(stop - start).count();
    f_.steady_s = wall;
    if (master_) {
      f_.master_cpu_cores = std::chrono::duration<double>(cpu_stop - cpu_start).count() / wall;
    }
    f_.heartbeats_per_s = static_cast<double>(acks_stop - acks_start) / wall;
    const uint32_t interval = board_.read().heartbeat_ms;
    f_.expected_heartbeats_per_s =
        interval == 0 ? 0 : static_cast<double>(live_.size()) * 1000.0 / interval;
    if (master_) {
      const auto counters = master_->snapshot().counters;
      if (counters.losses != 0 || counters.evictions != 0) {
        return internalError("the master lost " + std::to_string(counters.losses) +
                             " and evicted " + std::to_string(counters.evictions) + " peers");
      }
    }
    return Status::ok();
  }

  Status churn() {
    const size_t n = options_.churn;
    note("phase 4: " + std::to_string(n) + " leave, " + std::to_string(n) + " join, update");
    PeerList leavers(live_.end() - static_cast<ptrdiff_t>(n), live_.end());
    live_.resize(live_.size() - n);
    const uint64_t closed = board_.read().closed;
    for (auto& peer : leavers)
      peer->leave();
    // The master closes a leaver's connection once it has handled the Leave.
    Status left = board_.waitUntil([&](const Progress& p) { return p.closed >= closed + n; },
                                   deadline(), "waiting for the leavers' connections to close");
    if (!left.isOk()) return left;
    if (Status s = spawnRegistered(n, live_); !s.isOk()) return s;
    auto updated = update("update after churn");
    if (!updated) return updated.status();
    f_.churn_update_ms = *updated;
    return Status::ok();
  }

  Status leaveAll() {
    note("phase 5: all " + std::to_string(live_.size()) + " leave");
    const uint64_t closed = board_.read().closed;
    const size_t n = live_.size();
    const auto start = Clock::now();
    for (auto& peer : live_)
      peer->leave();
    Status left = board_.waitUntil([&](const Progress& p) { return p.closed >= closed + n; },
                                   deadline(), "waiting for every connection to close");
    if (!left.isOk()) return left;
    f_.leave_all_ms = millisecondsBetween(start, Clock::now());
    return master_ ? checkMasterEmpty() : Status::ok();
  }

  // Every registration, leave and nothing else shows in the master's counters.
  Status checkMasterEmpty() {
    const auto end = deadline();
    membership::MasterSnapshot snapshot;
    do {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      snapshot = master_->snapshot();
    } while (!snapshot.peers.empty() && Clock::now() < end);
    if (!snapshot.peers.empty()) {
      return internalError("the master still lists " + std::to_string(snapshot.peers.size()) +
                           " peers");
    }
    const auto& c = snapshot.counters;
    const uint64_t spawned = options_.peers + options_.churn;
    if (c.registrations != spawned || c.leaves != spawned || c.losses != 0 || c.evictions != 0 ||
        c.rejected_registrations != 0) {
      return internalError(
          "master counters: " + std::to_string(c.registrations) + " registrations, " +
          std::to_string(c.leaves) + " leaves, " + std::to_string(c.losses) + " losses, " +
          std::to_string(c.evictions) + " evictions, " + std::to_string(c.rejected_registrations) +
          " refused; expected " + std::to_string(spawned) + " registrations and leaves only");
    }
    return Status::ok();
  }

  Swarm& swarm_;
  Board& board_;
  const InprocessMaster* master_;
  const ScenarioOptions& options_;
  Figures& f_;
  PeerList live_;
};

}  // namespace

Status runScenario(Swarm& swarm, const InprocessMaster* master, const ScenarioOptions& options,
                   Figures& figures) {
  Status outcome = Scenario(swarm, master, options, figures).run();
  figures.connect_retries = swarm.board().read().retries;
  figures.max_timer_late_ms = swarm.board().max_timer_late_us.load() / 1000.0;
  figures.max_heartbeat_rtt_ms = swarm.board().max_heartbeat_rtt_us.load() / 1000.0;
  return outcome;
}

}  // namespace eccl::tools::swarm
