// One process of `eccl-bench state-join`.
//
// A member: forms the ring, then runs rounds until the joiner is in: a
// shared-state sync (revision + 1; entry 0 changes every round, as training
// would change it), steps_per_round timed all-reduces, then an all-reduce of
// the pending count so that every member decides alike whether to admit. Each
// step is filed by what rank 0 saw when it started: before the joiner
// registered ("baseline"), while this member served the fetch ("fetch"), or
// neither. After the admission comes one catch-up sync with the joiner.
//
// The joiner: waits joiner_delay, then connects with its state of zeros
// (ecclCommConnectWithState at the given pace), syncs RECEIVE_ONLY with the
// members and checks that it holds their bytes.
#include <algorithm>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>

#include "src/comm/communicator.h"
#include "tools/eccl-bench/master_thread.h"
#include "tools/eccl-bench/state_join.h"
#include "tools/eccl-bench/state_tensors.h"

namespace eccl::tools::bench {
namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

constexpr uint64_t kDecisionTag = 1;
constexpr uint64_t kStepTag = 2;

Status runMember(comm::Communicator& comm, const StateJoinWorkerOptions& options,
                 Clock::time_point joiner_starts, nlohmann::ordered_json& row) {
  BenchState tensors(options.bytes, options.entries, /*zero=*/false, /*sparse=*/false);
  std::vector<float> step(options.step_bytes / sizeof(float), 1.0f);
  std::vector<double> baseline, fetching;
  Clock::time_point fetch_started{}, fetch_ended{};
  int rounds = 0;
  double sync_seconds = 0;
  state::SyncInfo catch_up;
  while (true) {
    ++rounds;
    tensors.entry(0)[rounds % tensors.entry(0).size()] += 1.0f;
    ++tensors.state().revision;
    const auto sync_start = Clock::now();
    ECCL_RETURN_IF_ERROR(comm.syncSharedState(tensors.state(), state::SyncStrategy::kEnforcePopular,
                                              options.timeout, nullptr));
    sync_seconds = std::max(sync_seconds, seconds(Clock::now() - sync_start));
    for (int s = 0; s < options.steps_per_round; ++s) {
      const bool serving = comm.fetchesServing() > 0;
      if (serving && fetch_started == Clock::time_point{}) fetch_started = Clock::now();
      if (!serving && fetch_started != Clock::time_point{} && fetch_ended == Clock::time_point{}) {
        fetch_ended = Clock::now();
      }
      const auto started = Clock::now();
      ECCL_RETURN_IF_ERROR(comm.allReduce(step.data(), step.data(), step.size(),
                                          reduce::DType::kF32, reduce::ReduceOp::kAvg, kStepTag,
                                          options.timeout, nullptr));
      const double took = seconds(Clock::now() - started);
      if (Clock::now() < joiner_starts) baseline.push_back(took);
      if (serving) fetching.push_back(took);
    }
    // Every member admits at the same round: the largest pending count decides.
    int32_t pending = comm.peersPending();
    ECCL_RETURN_IF_ERROR(comm.allReduce(&pending, &pending, 1, reduce::DType::kI32,
                                        reduce::ReduceOp::kMax, kDecisionTag, options.timeout,
                                        nullptr));
    if (pending > 0) break;
    if (rounds > 10'000) return timeoutError("the joiner never became pending");
  }
  if (fetch_ended == Clock::time_point{}) fetch_ended = Clock::now();
  ECCL_RETURN_IF_ERROR(comm.updateTopology(options.timeout));
  ++tensors.state().revision;
  ECCL_RETURN_IF_ERROR(comm.syncSharedState(tensors.state(), state::SyncStrategy::kEnforcePopular,
                                            options.timeout, &catch_up));
  if (comm.rank() != 0) return Status::ok();
  const double base = median(baseline);
  const double during = median(fetching);
  row = {{"bench", "state-join"},
         {"role", "member"},
         {"members", options.members},
         {"bytes", options.bytes},
         {"step_bytes", options.step_bytes},
         {"fetch_bytes_per_s", options.fetch_bytes_per_s},
         {"baseline_steps", baseline.size()},
         {"baseline_step_s", base},
         {"fetch_steps", fetching.size()},
         {"fetch_step_s", during},
         {"slowdown", base > 0 && during > 0 ? during / base - 1 : 0.0},
         {"fetch_seconds",
          fetch_started == Clock::time_point{} ? 0.0 : seconds(fetch_ended - fetch_started)},
         {"longest_sync_s", sync_seconds},
         {"catch_up_bytes_sent", catch_up.bytes_sent},
         {"ok", !baseline.empty() && !fetching.empty()}};
  return Status::ok();
}

Status runJoiner(comm::Communicator& comm, const StateJoinWorkerOptions& options,
                 nlohmann::ordered_json& row) {
  std::this_thread::sleep_for(options.joiner_delay);
  BenchState tensors(options.bytes, options.entries, /*zero=*/true, /*sparse=*/false);
  state::SyncInfo fetched, caught_up;
  const auto started = Clock::now();
  ECCL_RETURN_IF_ERROR(
      comm.connectWithState(tensors.state(), options.fetch_bytes_per_s, options.timeout, &fetched));
  const double connect_seconds = seconds(Clock::now() - started);
  ECCL_RETURN_IF_ERROR(comm.syncSharedState(tensors.state(), state::SyncStrategy::kReceiveOnly,
                                            options.timeout, &caught_up));
  // The members changed one element of entry 0 each round: all else is theirs.
  for (uint32_t e = 1; e < options.entries; ++e) {
    const auto& memory = tensors.entry(e);
    for (uint64_t i = 0; i < memory.size(); ++i) {
      if (memory[i] != holderValue(e, i, false)) {
        return internalError("the joiner's entry " + std::to_string(e) +
                             " differs from the members' after the catch-up");
      }
    }
  }
  row = {{"bench", "state-join"},
         {"role", "joiner"},
         {"fetched_bytes", fetched.bytes_received},
         {"fetched_entries", fetched.entries_fixed},
         {"connect_seconds", connect_seconds},
         {"catch_up_bytes", caught_up.bytes_received},
         {"catch_up_entries", caught_up.entries_fixed},
         {"catch_up_seconds", seconds(caught_up.wall_time)},
         {"ok", true}};
  return Status::ok();
}

}  // namespace

int runStateJoinWorker(const StateJoinWorkerOptions& options) {
  const auto joiner_starts = Clock::now() + options.joiner_delay;
  auto created = makeWorkerComm(options.master_host, options.master_port, options.host,
                                options.connections, options.timeout);
  if (!created) {
    std::fprintf(stderr, "state-join worker: %s\n", created.status().toString().c_str());
    return 1;
  }
  auto& comm = **created;
  nlohmann::ordered_json row;
  Status status;
  if (options.joiner) {
    status = runJoiner(comm, options, row);
  } else {
    status = comm.connect(options.timeout);
    if (status) status = formRing(comm, options.members, options.timeout);
    if (status) status = runMember(comm, options, joiner_starts, row);
  }
  if (!status) {
    std::fprintf(stderr, "state-join %s: %s\n", options.joiner ? "joiner" : "member",
                 status.toString().c_str());
    return 1;
  }
  if (!row.empty()) std::printf("%s\n", row.dump().c_str());
  return 0;
}

}  // namespace eccl::tools::bench
