// eccl-gloo-allreduce: one rank of Gloo's ring all-reduce (TCP, 127.0.0.1),
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

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "tools/eccl-bench/allreduce_stats.h"

namespace {

using Clock = std::chrono::steady_clock;
using ReduceFn = void (*)(void*, const void*, const void*, size_t);

struct Args {
  int rank = -1;
  int peers = 0;
  std::string store;
  std::vector<uint64_t> sizes;
  int iters = 5;
  int warmup = 1;
  long long timeout_ms = 120'000;
};

bool parse(int argc, char** argv, Args& args) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const char* value = argv[i + 1];
    if (key == "--rank") {
      args.rank = std::atoi(value);
    } else if (key == "--peers") {
      args.peers = std::atoi(value);
    } else if (key == "--store") {
      args.store = value;
    } else if (key == "--iters") {
      args.iters = std::atoi(value);
    } else if (key == "--warmup") {
      args.warmup = std::atoi(value);
    } else if (key == "--timeout-ms") {
      args.timeout_ms = std::atoll(value);
    } else if (key == "--sizes") {
      for (const char* p = value; *p != '\0';) {
        char* end = nullptr;
        args.sizes.push_back(std::strtoull(p, &end, 10));
        if (end == p || (*end != ',' && *end != '\0')) return false;
        p = *end == ',' ? end + 1 : end;
      }
    } else {
      return false;
    }
  }
  return args.rank >= 0 && args.rank < args.peers && !args.store.empty() && !args.sizes.empty() &&
         args.iters > 0 && args.warmup >= 0;
}

class Bench {
 public:
  Bench(const Args& args, std::shared_ptr<gloo::Context> context)
      : args_(args), context_(std::move(context)) {}

  void measure(uint64_t bytes) {
    const size_t count = bytes / sizeof(float);
    std::vector<float> data(count);
    const int world = args_.peers;
    const float expected = static_cast<float>(world) * static_cast<float>(world + 1) / 2.0f;
    bool ok = true;
    std::vector<double> slowest;
    double cpu = 0;
    for (int i = 0; i < args_.warmup + args_.iters; ++i) {
      std::fill(data.begin(), data.end(), static_cast<float>(args_.rank + 1));
      barrier();
      const double cpu0 = eccl::tools::bench::processCpuSeconds();
      const auto t0 = Clock::now();
      run(data.data(), count, &gloo::sum<float>);
      const auto t1 = Clock::now();
      const double cpu1 = eccl::tools::bench::processCpuSeconds();
      ok = ok && std::all_of(data.begin(), data.end(), [&](float v) { return v == expected; });
      if (i < args_.warmup) continue;
      double t = std::chrono::duration<double>(t1 - t0).count();
      run(&t, 1, &gloo::max<double>);
      slowest.push_back(t);
      cpu += cpu1 - cpu0;
    }
    double all_ok = ok ? 1.0 : 0.0;
    double rss = eccl::tools::bench::peakRssMib();
    run(&cpu, 1, &gloo::sum<double>);
    run(&all_ok, 1, &gloo::min<double>);
    run(&rss, 1, &gloo::max<double>);
    if (args_.rank == 0) {
      auto row = eccl::tools::bench::makeAllreduceRow("gloo", world, count * sizeof(float), slowest,
                                                      cpu, rss, all_ok == 1.0);
      std::printf("%s\n", eccl::tools::bench::allreduceRowJson(row).c_str());
      std::fflush(stdout);
    }
  }

  // A one-element all-reduce, as for ECCL.
  void barrier() {
    double dummy = 0;
    run(&dummy, 1, &gloo::sum<double>);
  }

 private:
  template <typename T>
  void run(T* data, size_t count, ReduceFn fn) {
    gloo::AllreduceOptions opts(context_);
    opts.setAlgorithm(gloo::AllreduceOptions::Algorithm::RING);
    opts.setOutput(data, count);
    opts.setReduceFunction(fn);
    opts.setTag(tag_++);
    opts.setTimeout(std::chrono::milliseconds(args_.timeout_ms));
    gloo::allreduce(opts);
  }

  const Args& args_;
  std::shared_ptr<gloo::Context> context_;
  uint32_t tag_ = 0;
};

}  // namespace

int main(int argc, char** argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive eccl-bench
  Args args;
  if (!parse(argc, argv, args)) {
    std::fprintf(stderr,
                 "usage: eccl-gloo-allreduce --rank R --peers N --store DIR --sizes B1,B2 "
                 "[--iters I] [--warmup W] [--timeout-ms T]\n");
    return 2;
  }
  try {
    gloo::transport::tcp::attr attr("127.0.0.1");
    auto device = gloo::transport::tcp::CreateDevice(attr);
    gloo::rendezvous::FileStore store(args.store);
    auto context = std::make_shared<gloo::rendezvous::Context>(args.rank, args.peers);
    context->setTimeout(std::chrono::milliseconds(args.timeout_ms));
    context->connectFullMesh(store, device);
    Bench bench(args, context);
    for (uint64_t size : args.sizes)
      bench.measure(size);
    bench.barrier();  // nobody closes its pairs while a neighbour still finishes
  } catch (const std::exception& e) {
    std::fprintf(stderr, "eccl-gloo-allreduce rank %d: %s\n", args.rank, e.what());
    return 1;
  }
  return 0;
}
