// eccl-gloo-allreduce: one rank of Gloo's ring all-reduce (TCP, 127.0.0.1 or --host),
// timed and checked exactly as `eccl-bench allreduce` times ECCL; rank 0
// prints the same JSON rows. eccl-bench starts --peers of these.
// Usage: eccl-gloo-allreduce --rank R --peers N --store DIR --sizes B1,B2
//        [--iters 5] [--warmup 1] [--timeout-ms 120000]
#include <gloo/allreduce.h>
#include <gloo/math.h>
#include <gloo/rendezvous/context.h>
#include <gloo/rendezvous/file_store.h>
#include <gloo/transport/tcp/device.h>
#include <sys/prctl.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>

#include "tools/eccl-bench/allreduce_stats.h"
#include "tools/eccl-bench/comparator_args.h"

namespace {

using eccl::tools::bench::ScalarOp;
using ReduceFn = void (*)(void*, const void*, const void*, size_t);

// The ops measureAllreduce runs; Gloo reports failures by throwing.
class GlooOps {
 public:
  GlooOps(std::shared_ptr<gloo::Context> context, std::chrono::milliseconds timeout)
      : context_(std::move(context)), timeout_(timeout) {}

  bool sumFloats(float* data, size_t count) {
    run(data, count, &gloo::sum<float>);
    return true;
  }
  bool reduceScalar(double& value, ScalarOp op) {
    ReduceFn fn = &gloo::sum<double>;
    if (op == ScalarOp::kMin) fn = &gloo::min<double>;
    if (op == ScalarOp::kMax) fn = &gloo::max<double>;
    run(&value, 1, fn);
    return true;
  }

 private:
  template <typename T>
  void run(T* data, size_t count, ReduceFn fn) {
    gloo::AllreduceOptions opts(context_);
    opts.setAlgorithm(gloo::AllreduceOptions::Algorithm::RING);
    opts.setOutput(data, count);
    opts.setReduceFunction(fn);
    opts.setTag(tag_++);
    opts.setTimeout(timeout_);
    gloo::allreduce(opts);
  }

  std::shared_ptr<gloo::Context> context_;
  std::chrono::milliseconds timeout_;
  uint32_t tag_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive eccl-bench
  eccl::tools::bench::ComparatorArgs args;
  if (!eccl::tools::bench::parseComparatorArgs(argc, argv, args) || args.rank < 0 ||
      args.rank >= args.peers || args.store.empty()) {
    std::fprintf(stderr,
                 "usage: eccl-gloo-allreduce --rank R --peers N --store DIR --sizes B1,B2 "
                 "[--iters I] [--warmup W] [--timeout-ms T] [--host ADDR]\n");
    return 2;
  }
  try {
    const std::chrono::milliseconds timeout(args.timeout_ms);
    gloo::transport::tcp::attr attr(args.host.c_str());
    auto device = gloo::transport::tcp::CreateDevice(attr);
    gloo::rendezvous::FileStore store(args.store);
    auto context = std::make_shared<gloo::rendezvous::Context>(args.rank, args.peers);
    context->setTimeout(timeout);
    context->connectFullMesh(store, device);
    GlooOps ops(context, timeout);
    for (uint64_t size : args.sizes) {
      eccl::tools::bench::AllreduceRun run{"gloo", args.rank,   args.peers,
                                           size,   args.warmup, args.iters};
      run.after_idle = std::chrono::milliseconds(args.after_idle_ms);
      eccl::tools::bench::measureAllreduce(ops, run);
    }
    // Nobody closes its pairs while a neighbour still finishes.
    eccl::tools::bench::allreduceBarrier(ops);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "eccl-gloo-allreduce rank %d: %s\n", args.rank, e.what());
    return 1;
  }
  return 0;
}
