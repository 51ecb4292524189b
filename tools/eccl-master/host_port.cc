#include "tools/eccl-master/host_port.h"

#include <charconv>

namespace eccl::tools {
namespace {

// Built with append (not operator+ chains): GCC 12 raises a false -Wrestrict on those.
Status bad(std::string_view text, std::string_view why) {
  std::string message = "'";
  message.append(text).append("': ").append(why);
  return invalidArgument(std::move(message));
}

Result<uint16_t> parsePort(std::string_view text, std::string_view whole) {
  unsigned value = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value > 65535) {
    return bad(whole, "port must be a number 0..65535");
  }
  return static_cast<uint16_t>(value);
}

}  // namespace

Result<HostPort> parseHostPort(std::string_view text, bool port_optional) {
  const std::string_view expected = port_optional ? "expected HOST[:PORT]" : "expected HOST:PORT";
  HostPort out;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos || close == 1) {
      return bad(text, "unterminated [IPv6 address]");
    }
    out.host = std::string(text.substr(1, close - 1));
    rest = text.substr(close + 1);
  } else {
    const size_t colon = text.rfind(':');
    if (colon != std::string_view::npos && text.find(':') != colon) {
      return bad(text, "write IPv6 addresses as [addr]:port");
    }
    out.host = std::string(text.substr(0, colon));
    rest = colon == std::string_view::npos ? std::string_view() : text.substr(colon);
  }
  if (out.host.empty()) return bad(text, expected);
  if (rest.empty()) {
    if (port_optional) return out;
    return bad(text, expected);
  }
  if (rest.front() != ':') return bad(text, expected);
  auto port = parsePort(rest.substr(1), text);
  if (!port) return port.status();
  out.port = *port;
  return out;
}

std::string formatHostPort(const std::string& host, uint16_t port) {
  std::string out;
  if (host.find(':') != std::string::npos) {
    out.append("[").append(host).append("]");
  } else {
    out.append(host);
  }
  return out.append(":").append(std::to_string(port));
}

}  // namespace eccl::tools
