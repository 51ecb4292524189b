// `eccl-netlab selftest`: a private 2-host lab, iperf3 both ways at once with 1
// and with 8 streams, the ceiling per direction and the delay line's CPU.
#pragma once

#include <vector>

#include "tools/eccl-netlab/lab_spec.h"

namespace eccl::tools::netlab {

struct SelftestOptions {
  LabSpec spec;  // rate, delay, mtu, gso; the prefix and host count are the selftest's own
  int seconds = 5;
  std::vector<int> streams = {1, 8};
  bool lan_too = false;  // also the same runs on a LAN lab (bridge + tbf)
};

// The process exit code: 0, 1 (a run failed) or 2 (no privileges).
int runSelftest(const SelftestOptions& options);

// `eccl-netlab ceiling`: the same measurement between h0 and h1 of a lab that
// is up (a benchmark's own), one line per direction, or one JSON object
// {"streams", "seconds", "rate_gbps", "forward_gbps", "backward_gbps"}.
int runCeiling(const std::string& prefix, int streams, int seconds, bool json);

}  // namespace eccl::tools::netlab
