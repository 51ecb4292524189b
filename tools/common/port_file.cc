#include "tools/common/port_file.h"

#include <fstream>
#include <thread>

namespace eccl::tools {

std::optional<uint16_t> readPortFile(const std::string& path, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    std::ifstream file(path);
    unsigned port = 0;
    if (file >> port && port > 0 && port <= 65535) return static_cast<uint16_t>(port);
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

}  // namespace eccl::tools
