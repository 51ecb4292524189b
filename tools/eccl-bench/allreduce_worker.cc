// One peer process of `eccl-bench allreduce`: joins the group, waits until all
// peers are in the ring, then times in-place f32 sums; rank 0 prints the rows.
#include <sys/prctl.h>

#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

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
    return measureAllreduce(
        *this, {"eccl", comm_.rank(), comm_.worldSize(), bytes, options_.warmup, options_.iters});
  }

  Status barrier() { return allreduceBarrier(*this); }

  // The ops measureAllreduce runs.
  Status sumFloats(float* data, size_t count) {
    return comm_.allReduce(data, data, count, reduce::DType::kF32, reduce::ReduceOp::kSum,
                           nextTag(), options_.timeout, nullptr);
  }
  Status reduceScalar(double& value, ScalarOp op) {
    const auto reduce_op = op == ScalarOp::kSum   ? reduce::ReduceOp::kSum
                           : op == ScalarOp::kMin ? reduce::ReduceOp::kMin
                                                  : reduce::ReduceOp::kMax;
    return comm_.allReduce(&value, &value, 1, reduce::DType::kF64, reduce_op, nextTag(),
                           options_.timeout, nullptr);
  }

 private:
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
  comm_options.master_host = options.master_host;
  comm_options.master_port = options.master_port;
  comm_options.group = "bench";
  comm_options.listen_host = options.host;
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
