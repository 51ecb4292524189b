#include "tests/support/dev_shm.h"

#include <dirent.h>

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

}  // namespace eccl::test
