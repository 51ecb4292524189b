// What one all-reduce benchmark row is and how its figures are derived; shared
// by the ECCL worker and the Gloo comparator (so it depends on nothing of ECCL),
// whose rank 0 prints one such JSON line per size for eccl-bench to read.
#pragma once

#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace eccl::tools::bench {

struct AllreduceRow {
  std::string impl;  // "eccl", "gloo"
  int peers = 0;
  uint64_t bytes = 0;
  int iters = 0;
  double time_s = 0;  // median over iterations of the slowest rank's time
  double algbw_gbs = 0;
  double busbw_gbs = 0;
  double cpu_s_per_gb = 0;  // CPU of all ranks during the timed ops / GB all-reduced
  double rss_mib = 0;       // the largest rank's peak RSS so far
  bool ok = false;
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
  std::sort(slowest_times.begin(), slowest_times.end());
  const size_t n = slowest_times.size();
  if (n > 0) {
    row.time_s =
        n % 2 ? slowest_times[n / 2] : (slowest_times[n / 2 - 1] + slowest_times[n / 2]) / 2.0;
  }
  if (row.time_s > 0) row.algbw_gbs = static_cast<double>(bytes) / row.time_s / 1e9;
  row.busbw_gbs = busBandwidthGbs(bytes, row.time_s, peers);
  const double gb = static_cast<double>(bytes) * static_cast<double>(n) / 1e9;
  row.cpu_s_per_gb = gb > 0 ? cpu_sum / gb : 0.0;
  row.rss_mib = rss_max_mib;
  row.ok = ok;
  return row;
}

inline std::string allreduceRowJson(const AllreduceRow& row) {
  char line[512];
  std::snprintf(line, sizeof line,
                "{\"bench\":\"allreduce\",\"impl\":\"%s\",\"peers\":%d,\"bytes\":%llu,"
                "\"iters\":%d,\"time_s\":%.6f,\"algbw_gbs\":%.4f,\"busbw_gbs\":%.4f,"
                "\"cpu_s_per_gb\":%.4f,\"rss_mib\":%.1f,\"ok\":%s}",
                row.impl.c_str(), row.peers, static_cast<unsigned long long>(row.bytes), row.iters,
                row.time_s, row.algbw_gbs, row.busbw_gbs, row.cpu_s_per_gb, row.rss_mib,
                row.ok ? "true" : "false");
  return line;
}

}  // namespace eccl::tools::bench
