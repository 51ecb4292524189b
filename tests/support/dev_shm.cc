#include "tests/support/dev_shm.h"

#include <dirent.h>

#include <fstream>
#include <sstream>

namespace eccl::test {

std::vector<std::string> segmentsOf(pid_t pid) {
  std::vector<std::string> names;
  std::string prefix = "eccl-";  // appended piecewise: GCC 12 warns wrongly about operator+ here
  prefix += std::to_string(pid);
  prefix += '-';
  DIR* dir = ::opendir("/dev/shm");
  if (dir == nullptr) return names;
  while (const dirent* entry = ::readdir(dir)) {
    if (std::string(entry->d_name).starts_with(prefix)) names.emplace_back(entry->d_name);
  }
  ::closedir(dir);
  return names;
}

std::vector<size_t> mappedSegmentSizes() {
  std::vector<size_t> sizes;
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    if (line.find("/dev/shm/eccl-") == std::string::npos) continue;
    std::istringstream fields(line);
    std::string range;
    fields >> range;
    const size_t dash = range.find('-');
    if (dash == std::string::npos) continue;
    const size_t start = std::stoull(range.substr(0, dash), nullptr, 16);
    const size_t end = std::stoull(range.substr(dash + 1), nullptr, 16);
    sizes.push_back(end - start);
  }
  return sizes;
}

}  // namespace eccl::test
