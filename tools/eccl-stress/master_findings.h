// The anomaly findings in the soak's eccl-master log: the master writes each
// as a line "[HH:MM:SS.mmm] [eccl PID] [warning] anomaly KIND: evidence"
// (src/membership/master_state.cc), which the summary counts per kind, with
// the time of the first one, to report detection latency and false positives.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace eccl::tools::stress {

struct MasterFindings {
  std::map<std::string, uint64_t> count;   // by kind ("slow_link", ...)
  std::map<std::string, double> first_at;  // by kind: the first one's time of day (s)
};

// Lines that are not findings are skipped.
MasterFindings parseMasterFindings(std::string_view log);

}  // namespace eccl::tools::stress
