#include "tools/eccl-netlab/namespaces.h"

#include <dirent.h>
#include <sys/stat.h>

#include "tools/eccl-netlab/system_command.h"

namespace eccl::tools::netlab {

Status addNamespace(const std::string& name) {
  auto added = runCommand({"ip", "netns", "add", name});
  return added ? Status::ok() : added.status();
}

Status deleteNamespace(const std::string& name) {
  if (!namespaceExists(name)) return Status::ok();
  auto deleted = runCommand({"ip", "netns", "delete", name});
  return deleted || !namespaceExists(name) ? Status::ok() : deleted.status();
}

bool namespaceExists(const std::string& name) {
  struct stat info {};
  return stat(("/run/netns/" + name).c_str(), &info) == 0;
}

std::vector<std::string> listNamespaces() {
  std::vector<std::string> names;
  DIR* dir = opendir("/run/netns");
  if (dir == nullptr) return names;
  while (const dirent* entry = readdir(dir)) {
    const std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(name);
  }
  closedir(dir);
  return names;
}

}  // namespace eccl::tools::netlab
