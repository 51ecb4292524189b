#include "tools/eccl-netlab/process_info.h"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace eccl::tools::netlab {
namespace {

// The fields of /proc/PID/stat after "(comm)" (which may hold spaces): the
// first one returned is field 3, the state.
std::optional<std::vector<std::string>> statFields(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!in || !std::getline(in, line)) return std::nullopt;
  const size_t close_paren = line.rfind(')');
  if (close_paren == std::string::npos) return std::nullopt;
  std::istringstream rest(line.substr(close_paren + 1));
  std::vector<std::string> fields;
  for (std::string field; rest >> field;)
    fields.push_back(field);
  if (fields.size() < 20) return std::nullopt;
  return fields;
}

}  // namespace

std::optional<unsigned long long> processStartTicks(pid_t pid) {
  auto fields = statFields(pid);
  if (!fields) return std::nullopt;
  return std::stoull((*fields)[19]);  // field 22
}

bool processIsAlive(pid_t pid, unsigned long long start_ticks) {
  if (pid <= 0) return false;
  auto fields = statFields(pid);
  if (!fields || (*fields)[0] == "Z" || (*fields)[0] == "X") return false;
  return std::stoull((*fields)[19]) == start_ticks;
}

std::optional<double> processCpuSeconds(pid_t pid) {
  auto fields = statFields(pid);
  if (!fields) return std::nullopt;
  const double ticks = std::stod((*fields)[11]) + std::stod((*fields)[12]);  // utime, stime
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace eccl::tools::netlab
