// One process of `eccl-bench diloco`: forms the ring, runs `rounds`
// synchronous rounds and `rounds` delayed rounds (each round: the fixed inner
// compute, a pass over the parameters, the boundary), then times the
// pseudo-gradient all-reduce alone. Rank 0 prints the medians as a JSON row.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "src/diloco/outer_loop.h"
#include "tools/eccl-bench/diloco.h"
#include "tools/eccl-bench/master_thread.h"

namespace eccl::tools::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kAloneTag = 1;
constexpr uint64_t kLoopTag = 2;

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

// The median of the rounds after the first (which warms the pipeline up).
double steadyMedian(std::vector<double> values) {
  if (values.size() > 1) values.erase(values.begin());
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

// The inner steps' stand-in: busy or idle for exactly `compute`.
void compute(const DilocoWorkerOptions& options) {
  if (options.compute_kind == ComputeKind::kSleep) {
    std::this_thread::sleep_for(options.compute);
    return;
  }
  const auto until = Clock::now() + options.compute;
  volatile double sink = 1.0;
  while (Clock::now() < until) {
    for (int i = 0; i < 1000; ++i)
      sink = sink * 1.0000001 + 1e-9;
  }
}

struct ModeTimes {
  double round_s = 0;
  double blocked_s = 0;
  double flush_s = 0;
};

Result<ModeTimes> runMode(comm::Communicator& comm, const DilocoWorkerOptions& options,
                          diloco::Mode mode, uint64_t& revision) {
  std::vector<float> params(options.bytes / sizeof(float), 1.0f);
  diloco::OuterOptions outer;
  outer.mode = mode;
  outer.tag = kLoopTag;
  outer.timeout = options.timeout;
  outer.state_revision = revision;
  auto loop =
      diloco::OuterLoop::start(comm, {{params.data(), params.size()}}, reduce::DType::kF32, outer);
  if (!loop) return loop.status();
  std::vector<double> rounds, blocked;
  auto last = Clock::now();
  for (int r = 0; r < options.rounds; ++r) {
    compute(options);
    for (float& p : params)
      p -= 1e-3f;  // the round's progress
    diloco::StepReport report;
    ECCL_RETURN_IF_ERROR((*loop)->step(&report));
    const auto now = Clock::now();
    rounds.push_back(seconds(now - last));
    blocked.push_back(seconds(report.blocked));
    last = now;
  }
  const auto flush_started = Clock::now();
  ECCL_RETURN_IF_ERROR((*loop)->flush(nullptr));
  ModeTimes times{steadyMedian(rounds), steadyMedian(blocked),
                  seconds(Clock::now() - flush_started)};
  revision = (*loop)->stateRevision();
  return times;
}

Status run(comm::Communicator& comm, const DilocoWorkerOptions& options,
           nlohmann::ordered_json& row) {
  uint64_t revision = 0;
  auto sync = runMode(comm, options, diloco::Mode::kSync, revision);
  if (!sync) return sync.status();
  auto delayed = runMode(comm, options, diloco::Mode::kAsync, revision);
  if (!delayed) return delayed.status();
  // The all-reduce each round makes (the parameters and two counters), alone,
  // on the connections the rounds warmed up (TCP windows grown, as in the loop).
  std::vector<float> message(options.bytes / sizeof(float) + 2, 1.0f), out(message.size());
  std::vector<double> alone;
  for (int i = 0; i < 4; ++i) {
    const auto started = Clock::now();
    ECCL_RETURN_IF_ERROR(comm.allReduce(message.data(), out.data(), message.size(),
                                        reduce::DType::kF32, reduce::ReduceOp::kSum, kAloneTag,
                                        options.timeout, nullptr));
    alone.push_back(seconds(Clock::now() - started));
  }
  if (comm.rank() != 0) return Status::ok();
  const double compute_s = std::chrono::duration<double>(options.compute).count();
  const double allreduce_s = steadyMedian(alone);
  row = {{"bench", "diloco"},
         {"members", options.members},
         {"bytes", options.bytes},
         {"rounds", options.rounds},
         {"compute", options.compute_kind == ComputeKind::kSpin ? "spin" : "sleep"},
         {"compute_s", compute_s},
         {"allreduce_s", allreduce_s},
         {"sync_round_s", sync->round_s},
         {"sync_blocked_s", sync->blocked_s},
         {"async_round_s", delayed->round_s},
         {"async_blocked_s", delayed->blocked_s},
         {"async_flush_s", delayed->flush_s},
         {"sum_s", compute_s + allreduce_s},
         {"max_s", std::max(compute_s, allreduce_s)},
         {"async_over_sync", sync->round_s > 0 ? delayed->round_s / sync->round_s : 0.0}};
  return Status::ok();
}

}  // namespace

int runDilocoWorker(const DilocoWorkerOptions& options) {
  auto created = makeWorkerComm(options.master_host, options.master_port, options.host,
                                options.connections, options.timeout);
  if (!created) {
    std::fprintf(stderr, "diloco worker: %s\n", created.status().toString().c_str());
    return 1;
  }
  auto& comm = **created;
  nlohmann::ordered_json row;
  Status status = comm.connect(options.timeout);
  if (status) status = formRing(comm, options.members, options.timeout);
  if (status) status = run(comm, options, row);
  if (!status) {
    std::fprintf(stderr, "diloco worker: %s\n", status.toString().c_str());
    return 1;
  }
  if (!row.empty()) std::printf("%s\n", row.dump().c_str());
  return 0;
}

}  // namespace eccl::tools::bench
