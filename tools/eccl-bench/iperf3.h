// iperf3 as a comparator: a one-shot server and a client on a free local port,
// the same number of TCP streams and bytes as the ECCL run, and its JSON report.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "src/common/status.h"

namespace eccl::tools::bench {

struct Iperf3Request {
  std::string binary;  // absolute path (findOnPath("iperf3"))
  std::string host = "127.0.0.1";
  int streams = 1;                            // -P
  uint64_t bytes = 0;                         // -n: over all streams together
  std::chrono::milliseconds timeout{60'000};  // for the whole run, server start included
};

struct Iperf3Result {
  double bits_per_second = 0;  // end.sum_received.bits_per_second
  double seconds = 0;          // end.sum_received.seconds
  uint64_t bytes = 0;          // end.sum_received.bytes
};

// Runs `iperf3 -s -1` and `iperf3 -c ... -P streams -n bytes -J`; both are
// stopped and reaped on every path.
Result<Iperf3Result> runIperf3(const Iperf3Request& request);

}  // namespace eccl::tools::bench
