// "HOST:PORT" strings: the C API's configs and environment variables, and the
// tools' command lines.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "src/common/status.h"

namespace eccl {

struct HostPort {
  std::string host;  // without the brackets of "[v6]:port"
  uint16_t port = 0;
  bool has_port = false;
};

// Accepts "HOST:PORT" and "[V6ADDR]:PORT". With port_optional also "HOST",
// "[V6ADDR]" and a bare "V6ADDR" (two or more colons and no brackets).
// A bad or missing port is kInvalidArgument; `what` names the argument.
Result<HostPort> parseHostPort(std::string_view text, bool port_optional = false,
                               const std::string& what = "the address");

// A decimal port 0..65535: digits only, no sign or blanks.
Result<uint16_t> parsePort(std::string_view text, const std::string& what);

// "host:port", or "[v6-address]:port".
std::string formatHostPort(const std::string& host, uint16_t port);

}  // namespace eccl
