#include "tools/eccl-stress/master_findings.h"

#include <array>
#include <charconv>

namespace eccl::tools::stress {
namespace {

// The kinds src/anomaly/cluster_monitor.cc names (anomalyKindName).
constexpr std::array<std::string_view, 5> kKinds = {"hung_peer", "straggler", "slow_link",
                                                    "slow_node", "frozen_link"};

// "[HH:MM:SS.mmm]" at the start of a log line, as seconds of the day; -1 if absent.
double timeOfDay(std::string_view line) {
  if (line.size() < 14 || line[0] != '[' || line[3] != ':' || line[6] != ':' || line[9] != '.') {
    return -1;
  }
  int parts[4] = {};
  const std::pair<size_t, size_t> fields[4] = {{1, 2}, {4, 2}, {7, 2}, {10, 3}};
  for (int i = 0; i < 4; ++i) {
    const char* begin = line.data() + fields[i].first;
    const char* end = begin + fields[i].second;
    if (std::from_chars(begin, end, parts[i]).ptr != end) return -1;
  }
  return parts[0] * 3600.0 + parts[1] * 60.0 + parts[2] + parts[3] / 1000.0;
}

}  // namespace

MasterFindings parseMasterFindings(std::string_view log) {
  MasterFindings out;
  while (!log.empty()) {
    const size_t end = log.find('\n');
    const std::string_view line = log.substr(0, end);
    log = end == std::string_view::npos ? std::string_view() : log.substr(end + 1);
    const size_t at = line.find("] anomaly ");
    if (at == std::string_view::npos) continue;
    const std::string_view rest = line.substr(at + 10);
    for (std::string_view kind : kKinds) {
      if (rest.size() <= kind.size() || rest.substr(0, kind.size()) != kind ||
          rest[kind.size()] != ':') {
        continue;
      }
      const std::string name(kind);
      if (out.count[name]++ == 0) out.first_at[name] = timeOfDay(line);
    }
  }
  return out;
}

}  // namespace eccl::tools::stress
