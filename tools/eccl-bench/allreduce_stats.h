// What one all-reduce benchmark row is, how it is measured and how its figures
// are derived; shared by the ECCL worker and the Gloo and MPI comparators (so it
// depends on nothing of ECCL), whose rank 0 prints one such JSON line per size
// for eccl-bench to read.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "tools/eccl-bench/inflight_sampler.h"

namespace eccl::tools::bench {

struct AllreduceRow {
  std::string impl;  // "eccl", "gloo", "mpi"
  int peers = 0;
  uint64_t bytes = 0;
  int iters = 0;
  double time_s = 0;  // median over iterations of the slowest rank's time
  double algbw_gbs = 0;
  double busbw_gbs = 0;
  double cpu_s_per_gb = 0;  // CPU of all ranks during the timed ops / GB all-reduced
  double rss_mib = 0;       // the largest rank's peak RSS so far
  bool ok = false;
  std::string quant;  // ECCL's --quant spec ("minmax:u8"); "" for an exact run
  // --after-idle: the slowest rank's time of one more op after every rank sat
  // idle that long (connections cold again); 0 when not measured.
  double after_idle_s = 0;
  // Bytes in flight on a rank's TCP connections during the timed ops
  // (inflight_sampler.h): the time average, averaged over ranks, and the
  // largest sample of any rank.
  double inflight_mib = 0;
  double inflight_max_mib = 0;
};

// User + system CPU seconds of this process, all threads.
inline double processCpuSeconds() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  auto seconds = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec * 1e-6; };
  return seconds(usage.ru_utime) + seconds(usage.ru_stime);
}

// Peak resident set of this process so far, MiB (ru_maxrss is in KiB on Linux).
inline double peakRssMib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

// nccl-tests' bus bandwidth in GB/s (1e9 bytes): what each link of the ring
// carried, comparable across N (0 for one peer or no time).
inline double busBandwidthGbs(uint64_t bytes, double seconds, int peers) {
  if (peers <= 0 || seconds <= 0) return 0.0;
  return static_cast<double>(bytes) / seconds / 1e9 * 2.0 * (peers - 1) / peers;
}

inline double medianOf(std::vector<double> values) {
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2.0;
}

// nccl-tests' definitions; GB = 1e9 bytes. slowest_times: per iteration, the
// maximum over ranks; cpu_sum: CPU seconds of every rank during the timed ops.
inline AllreduceRow makeAllreduceRow(std::string impl, int peers, uint64_t bytes,
                                     std::vector<double> slowest_times, double cpu_sum,
                                     double rss_max_mib, bool ok) {
  AllreduceRow row;
  row.impl = std::move(impl);
  row.peers = peers;
  row.bytes = bytes;
  row.iters = static_cast<int>(slowest_times.size());
  const size_t n = slowest_times.size();
  row.time_s = medianOf(std::move(slowest_times));
  if (row.time_s > 0) row.algbw_gbs = static_cast<double>(bytes) / row.time_s / 1e9;
  row.busbw_gbs = busBandwidthGbs(bytes, row.time_s, peers);
  const double gb = static_cast<double>(bytes) * static_cast<double>(n) / 1e9;
  row.cpu_s_per_gb = gb > 0 ? cpu_sum / gb : 0.0;
  row.rss_mib = rss_max_mib;
  row.ok = ok;
  return row;
}

// An exact run's row has no "quant" field (as before quantization existed), a
// run without --after-idle no "after_idle_s".
inline std::string allreduceRowJson(const AllreduceRow& row) {
  std::string quant = row.quant.empty() ? "" : "\"quant\":\"" + row.quant + "\",";
  if (row.after_idle_s > 0) {
    char idle[64];
    std::snprintf(idle, sizeof idle, "\"after_idle_s\":%.6f,", row.after_idle_s);
    quant += idle;
  }
  char line[512];
  std::snprintf(line, sizeof line,
                "{\"bench\":\"allreduce\",\"impl\":\"%s\",\"peers\":%d,\"bytes\":%llu,"
                "\"iters\":%d,\"time_s\":%.6f,\"algbw_gbs\":%.4f,\"busbw_gbs\":%.4f,"
                "\"cpu_s_per_gb\":%.4f,\"rss_mib\":%.1f,\"inflight_mib\":%.3f,"
                "\"inflight_max_mib\":%.3f,%s\"ok\":%s}",
                row.impl.c_str(), row.peers, static_cast<unsigned long long>(row.bytes), row.iters,
                row.time_s, row.algbw_gbs, row.busbw_gbs, row.cpu_s_per_gb, row.rss_mib,
                row.inflight_mib, row.inflight_max_mib, quant.c_str(), row.ok ? "true" : "false");
  return line;
}

enum class ScalarOp { kSum, kMin, kMax };

// A one-element all-reduce: nobody returns before every rank has arrived.
template <typename Ops>
auto allreduceBarrier(Ops& ops) {
  double dummy = 0;
  return ops.reduceScalar(dummy, ScalarOp::kSum);
}

// What measureAllreduce runs on one rank.
struct AllreduceRun {
  const char* impl;  // the row's impl
  int rank = 0;
  int peers = 0;
  uint64_t bytes = 0;
  int warmup = 0;     // untimed ops
  int iters = 0;      // timed ops
  std::string quant;  // the row's quant field ("" for an exact run)
  // > 0: after the timed ops every rank idles this long, then one more op is
  // timed on its own (the first op after idle: TCP windows and caches cold).
  std::chrono::milliseconds after_idle{0};
};

// measureAllreduce's default Check, that of every comparator and of exact
// ECCL runs: rank r contributes r + 1 everywhere, small integers whose every
// partial sum is exact in f32, so the check is exact. A Check has fill() and
// verify() like this one, and kComparesDigests; where that is true also
// `uint64_t digest(std::span<const float>)`, which the ranks compare through
// Ops' `R reduceDigest(uint64_t& value, ScalarOp op)` (min and max).
struct ExactSumCheck {
  static constexpr bool kComparesDigests = false;
  int rank = 0;
  int peers = 0;

  void fill(std::span<float> data) const {
    std::fill(data.begin(), data.end(), static_cast<float>(rank + 1));
  }
  bool verify(std::span<const float> data) const {
    const float expected = static_cast<float>(peers) * static_cast<float>(peers + 1) / 2.0f;
    return std::all_of(data.begin(), data.end(), [&](float v) { return v == expected; });
  }
};

// Times in-place f32 sums of run.bytes as nccl-tests does (barrier, t0, op,
// t1; per iteration the slowest rank), checks every element (`check`; exact
// by default), and rank 0 prints the row as one JSON line. Every rank calls it
// alike; `ops` provides
//   R sumFloats(float* data, size_t count)       in place, over all ranks
//   R reduceScalar(double& value, ScalarOp op)   in place, over all ranks
// where R tests true on success; the first failure is returned as it is.
template <typename Ops, typename Check>
auto measureAllreduce(Ops& ops, const AllreduceRun& run, const Check& check) {
  using Clock = std::chrono::steady_clock;
  const size_t count = run.bytes / sizeof(float);
  std::vector<float> data(count);
  bool ok = true;
  std::vector<double> slowest;
  double cpu = 0;
  double after_idle = 0;
  InflightSampler inflight;
  // With after_idle, one more op after the timed ones: the ranks idle together
  // from its barrier on, so it starts cold; timed apart from the others.
  const bool probe_idle = run.after_idle.count() > 0;
  const int total = run.warmup + run.iters + (probe_idle ? 1 : 0);
  for (int i = 0; i < total; ++i) {
    const bool idle_probe = probe_idle && i == total - 1;
    check.fill(data);
    auto result = allreduceBarrier(ops);
    if (!result) return result;
    if (idle_probe) std::this_thread::sleep_for(run.after_idle);
    const bool timed = i >= run.warmup && !idle_probe;
    if (timed) inflight.begin();
    // The in-flight sampler's own CPU is left out (inflight_sampler.h).
    const double cpu0 = processCpuSeconds() - inflight.threadCpuSeconds();
    const auto t0 = Clock::now();
    result = ops.sumFloats(data.data(), count);
    const auto t1 = Clock::now();
    const double cpu1 = processCpuSeconds() - inflight.threadCpuSeconds();
    if (timed) inflight.end();
    if (!result) return result;
    ok = ok && check.verify(data);
    if constexpr (Check::kComparesDigests) {
      // Every rank must hold the same bytes: the digests' min equals their max.
      uint64_t least = check.digest(data);
      uint64_t most = least;
      result = ops.reduceDigest(least, ScalarOp::kMin);
      if (result) result = ops.reduceDigest(most, ScalarOp::kMax);
      if (!result) return result;
      ok = ok && least == most;
    }
    if (i < run.warmup) continue;
    double t = std::chrono::duration<double>(t1 - t0).count();
    result = ops.reduceScalar(t, ScalarOp::kMax);
    if (!result) return result;
    if (idle_probe) {
      after_idle = t;
      continue;
    }
    slowest.push_back(t);
    cpu += cpu1 - cpu0;
  }
  double all_ok = ok ? 1.0 : 0.0;
  double rss = peakRssMib();
  constexpr double kMib = 1024.0 * 1024.0;
  double inflight_mean = inflight.meanBytes() / kMib;
  double inflight_max = inflight.maxBytes() / kMib;
  auto result = ops.reduceScalar(cpu, ScalarOp::kSum);
  if (result) result = ops.reduceScalar(all_ok, ScalarOp::kMin);
  if (result) result = ops.reduceScalar(rss, ScalarOp::kMax);
  if (result) result = ops.reduceScalar(inflight_mean, ScalarOp::kSum);
  if (result) result = ops.reduceScalar(inflight_max, ScalarOp::kMax);
  if (result && run.rank == 0) {
    auto row = makeAllreduceRow(run.impl, run.peers, count * sizeof(float), std::move(slowest), cpu,
                                rss, all_ok == 1.0);
    row.quant = run.quant;
    row.after_idle_s = after_idle;
    row.inflight_mib = run.peers > 0 ? inflight_mean / run.peers : 0.0;
    row.inflight_max_mib = inflight_max;
    std::printf("%s\n", allreduceRowJson(row).c_str());
    std::fflush(stdout);
  }
  return result;
}

// The exact check above: what the comparators and exact ECCL runs measure.
template <typename Ops>
auto measureAllreduce(Ops& ops, const AllreduceRun& run) {
  return measureAllreduce(ops, run, ExactSumCheck{run.rank, run.peers});
}

}  // namespace eccl::tools::bench
