#include "tools/eccl-master/port_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace eccl::tools {

Status writePortFile(const std::string& path, uint16_t port) {
  const std::string tmp = path + ".tmp";
  std::FILE* file = std::fopen(tmp.c_str(), "w");
  if (file == nullptr) return systemError("cannot create " + tmp + ": " + std::strerror(errno));
  const bool written = std::fprintf(file, "%u\n", static_cast<unsigned>(port)) > 0;
  const bool closed = std::fclose(file) == 0;
  if (!written || !closed) {
    std::remove(tmp.c_str());
    return systemError("cannot write " + tmp);
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    std::remove(tmp.c_str());
    return systemError("cannot rename " + tmp + " to " + path + ": " + std::strerror(error));
  }
  return Status::ok();
}

}  // namespace eccl::tools
