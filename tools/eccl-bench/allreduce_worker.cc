// One peer process of `eccl-bench allreduce`: joins the group, waits until all
// peers are in the ring, then times in-place f32 sums; rank 0 prints the rows.
#include <sys/prctl.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "src/comm/communicator.h"
#include "tools/eccl-bench/allreduce.h"
#include "tools/eccl-bench/allreduce_stats.h"

namespace eccl::tools::bench {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class Worker {
 public:
  Worker(const AllreduceWorkerOptions& options, comm::Communicator& comm)
      : options_(options), comm_(comm) {}

  // The accepted peers update until everyone is in; the others are admitted by it.
  Status formRing() {
    const auto until = Clock::now() + options_.timeout;
    while (comm_.worldSize() < options_.peers) {
      const int missing = options_.peers - comm_.worldSize();
      while (comm_.peersPending() < missing) {
        if (Clock::now() > until) return timeoutError("peers did not all register");
        std::this_thread::sleep_for(2ms);
      }
      ECCL_RETURN_IF_ERROR(comm_.updateTopology(options_.timeout));
    }
    return Status::ok();
  }

  Status measure(uint64_t bytes) {
    const size_t count = bytes / sizeof(float);
    std::vector<float> data(count);
    const int world = comm_.worldSize();
    // Small integers: every partial sum is exact in f32, so the check is exact.
    const float expected = static_cast<float>(world) * static_cast<float>(world + 1) / 2.0f;
    bool ok = true;
    std::vector<double> slowest;
    double cpu = 0;
    for (int i = 0; i < options_.warmup + options_.iters; ++i) {
      std::fill(data.begin(), data.end(), static_cast<float>(comm_.rank() + 1));
      ECCL_RETURN_IF_ERROR(barrier());
      const double cpu0 = processCpuSeconds();
      const auto t0 = Clock::now();
      ECCL_RETURN_IF_ERROR(comm_.allReduce(data.data(), data.data(), count, reduce::DType::kF32,
                                           reduce::ReduceOp::kSum, nextTag(), options_.timeout,
                                           nullptr));
      const auto t1 = Clock::now();
      const double cpu1 = processCpuSeconds();
      ok = ok && std::all_of(data.begin(), data.end(), [&](float v) { return v == expected; });
      if (i < options_.warmup) continue;
      double t = std::chrono::duration<double>(t1 - t0).count();
      ECCL_RETURN_IF_ERROR(reduceScalar(t, reduce::ReduceOp::kMax));
      slowest.push_back(t);
      cpu += cpu1 - cpu0;
    }
    double all_ok = ok ? 1.0 : 0.0;
    double rss = peakRssMib();
    ECCL_RETURN_IF_ERROR(reduceScalar(cpu, reduce::ReduceOp::kSum));
    ECCL_RETURN_IF_ERROR(reduceScalar(all_ok, reduce::ReduceOp::kMin));
    ECCL_RETURN_IF_ERROR(reduceScalar(rss, reduce::ReduceOp::kMax));
    if (comm_.rank() == 0) {
      auto row =
          makeAllreduceRow("eccl", world, count * sizeof(float), slowest, cpu, rss, all_ok == 1.0);
      std::printf("%s\n", allreduceRowJson(row).c_str());
      std::fflush(stdout);
    }
    return Status::ok();
  }

  // A one-element all-reduce: nobody returns before everyone has arrived.
  Status barrier() {
    double dummy = 0;
    return reduceScalar(dummy, reduce::ReduceOp::kSum);
  }

 private:
  Status reduceScalar(double& value, reduce::ReduceOp op) {
    return comm_.allReduce(&value, &value, 1, reduce::DType::kF64, op, nextTag(), options_.timeout,
                           nullptr);
  }
  // Every peer runs the same sequence of ops, so a counter names them alike.
  uint64_t nextTag() { return ++tag_; }

  const AllreduceWorkerOptions& options_;
  comm::Communicator& comm_;
  uint64_t tag_ = 0;
};

}  // namespace

int runAllreduceWorker(const AllreduceWorkerOptions& options) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive eccl-bench
  comm::CommOptions comm_options;
  comm_options.master_host = "127.0.0.1";
  comm_options.master_port = options.master_port;
  comm_options.group = "bench";
  comm_options.listen_host = "127.0.0.1";
  if (options.connections > 0) comm_options.channel.connections = options.connections;
  comm_options.timeout = options.timeout;
  auto created = comm::Communicator::create(comm_options);
  if (!created) {
    std::fprintf(stderr, "allreduce worker: %s\n", created.status().toString().c_str());
    return 1;
  }
  auto& comm = **created;
  Worker worker(options, comm);
  Status status = comm.connect(options.timeout);
  if (status) status = worker.formRing();
  for (size_t i = 0; status && i < options.sizes.size(); ++i)
    status = worker.measure(options.sizes[i]);
  if (status) {
    // A peer that leaves right after an op can fail a neighbour still waiting
    // for its last send's completion ("the master says this peer is gone"); a
    // last barrier and a short linger keep that off the measured ops. The
    // barrier's own outcome measures nothing, so it is not an error.
    (void)worker.barrier();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (!status) {
    std::fprintf(stderr, "allreduce worker (rank %d): %s\n", comm.rank(),
                 status.toString().c_str());
    return 1;
  }
  return 0;
}

}  // namespace eccl::tools::bench
