// One peer process of `eccl-bench allreduce`: joins the group, waits until all
// peers are in the ring, then times in-place f32 sums; rank 0 prints the rows.
#include <sys/prctl.h>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <memory>
#include <thread>

#include "src/comm/communicator.h"
#include "src/protocol/messages.h"
#include "tools/eccl-bench/allreduce.h"
#include "tools/eccl-bench/allreduce_stats.h"
#include "tools/eccl-bench/master_thread.h"

namespace eccl::tools::bench {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The check of a quantized run (measureAllreduce's Check). Its inputs vary
// within every block: the exact check's constant buffers would be degenerate
// blocks, which quantize exactly and would test nothing. Rank r's element i
// is a multiple of 1/100 in [-1, 1]; each result must lie within
// quant::ringErrorBound (a priori, from max |input| = 1) of the exact sum,
// and every rank must hold the same bytes (XXH3-64 digests compared).
class QuantSumCheck {
 public:
  static constexpr bool kComparesDigests = true;

  QuantSumCheck(const quant::QuantConfig& config, int rank, int peers)
      : rank_(rank),
        peers_(peers),
        tolerance_(quant::ringErrorBound(config, reduce::DType::kF32, static_cast<uint32_t>(peers),
                                         1.0)) {}

  void fill(std::span<float> data) const {
    for (size_t i = 0; i < data.size(); ++i)
      data[i] = input(rank_, i);
  }
  bool verify(std::span<const float> data) const {
    size_t bad = 0;
    for (size_t i = 0; i < data.size(); ++i) {
      double exact = 0;  // exact: a few hundredths-grid floats in a double
      for (int r = 0; r < peers_; ++r)
        exact += input(r, i);
      // Written so that a NaN counts as bad.
      if (!(std::fabs(static_cast<double>(data[i]) - exact) <= tolerance_)) ++bad;
    }
    if (bad > 0) {
      std::fprintf(stderr, "allreduce worker (rank %d): %zu of %zu elements beyond the bound %g\n",
                   rank_, bad, data.size(), tolerance_);
    }
    return bad == 0;
  }
  uint64_t digest(std::span<const float> data) const {
    return protocol::payloadChecksum(
        {reinterpret_cast<const uint8_t*>(data.data()), data.size_bytes()});
  }

 private:
  static float input(int rank, size_t i) {
    const auto step = static_cast<long>((i * 37 + static_cast<size_t>(rank) * 101) % 201) - 100;
    return static_cast<float>(step) / 100.0f;
  }

  int rank_;
  int peers_;
  double tolerance_;
};

class Worker {
 public:
  Worker(const AllreduceWorkerOptions& options, comm::Communicator& comm)
      : options_(options), comm_(comm) {}

  Status formRing() { return bench::formRing(comm_, options_.peers, options_.timeout); }

  Status measure(uint64_t bytes) {
    AllreduceRun run{"eccl", comm_.rank(),    comm_.worldSize(),
                     bytes,  options_.warmup, options_.iters};
    run.after_idle = options_.after_idle;
    if (!options_.quant) return measureAllreduce(*this, run);
    run.quant = quantSpecText(*options_.quant);
    return measureAllreduce(*this, run,
                            QuantSumCheck(*options_.quant, comm_.rank(), comm_.worldSize()));
  }

  Status barrier() { return allreduceBarrier(*this); }

  // The ops measureAllreduce runs.
  Status sumFloats(float* data, size_t count) {
    return comm_.allReduce(data, data, count, reduce::DType::kF32, reduce::ReduceOp::kSum,
                           nextTag(), options_.timeout, nullptr,
                           options_.quant ? &*options_.quant : nullptr);
  }
  Status reduceScalar(double& value, ScalarOp op) {
    return comm_.allReduce(&value, &value, 1, reduce::DType::kF64, reduceOp(op), nextTag(),
                           options_.timeout, nullptr);
  }
  // Exact (never quantized): digests must compare bit for bit.
  Status reduceDigest(uint64_t& value, ScalarOp op) {
    return comm_.allReduce(&value, &value, 1, reduce::DType::kU64, reduceOp(op), nextTag(),
                           options_.timeout, nullptr);
  }

 private:
  static reduce::ReduceOp reduceOp(ScalarOp op) {
    return op == ScalarOp::kSum   ? reduce::ReduceOp::kSum
           : op == ScalarOp::kMin ? reduce::ReduceOp::kMin
                                  : reduce::ReduceOp::kMax;
  }

  // Every peer runs the same sequence of ops, so a counter names them alike.
  uint64_t nextTag() { return ++tag_; }

  const AllreduceWorkerOptions& options_;
  comm::Communicator& comm_;
  uint64_t tag_ = 0;
};

}  // namespace

int runAllreduceWorker(const AllreduceWorkerOptions& options) {
  std::shared_ptr<const transport::tls::TlsContext> tls;
  if (!options.tls.ca_file.empty()) {
    auto loaded = transport::tls::TlsContext::load(options.tls);
    if (!loaded) {
      std::fprintf(stderr, "allreduce worker: %s\n", loaded.status().toString().c_str());
      return 1;
    }
    tls = std::move(*loaded);
  }
  auto created = makeWorkerComm(options.master_host, options.master_port, options.host,
                                options.connections, options.timeout, tls, options.transport);
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
