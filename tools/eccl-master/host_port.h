// "HOST:PORT" command-line endpoints, shared by the tools (eccl-master, eccl-peer).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "src/common/status.h"

namespace eccl::tools {

struct HostPort {
  std::string host;
  uint16_t port = 0;
};

// Accepts "host:port" and "[v6-address]:port"; with port_optional also a bare
// "host" or "[v6-address]" (port 0). Port 0 is allowed: "any free port".
Result<HostPort> parseHostPort(std::string_view text, bool port_optional = false);
// "host:port", or "[v6-address]:port".
std::string formatHostPort(const std::string& host, uint16_t port);

}  // namespace eccl::tools
