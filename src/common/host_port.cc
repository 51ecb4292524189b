#include "src/common/host_port.h"

#include <algorithm>

namespace eccl {
namespace {

Status bad(const std::string& what, std::string_view text, const std::string& why) {
  return invalidArgument(what + " is \"" + std::string(text) + "\": " + why);
}

}  // namespace

Result<uint16_t> parsePort(std::string_view text, const std::string& what) {
  // Five digits at most, so the value cannot overflow before the range check.
  if (text.empty() || text.size() > 5 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad(what, text, "the port must be a decimal number 0..65535");
  }
  unsigned value = 0;
  for (char c : text)
    value = value * 10 + static_cast<unsigned>(c - '0');
  if (value > 65535) return bad(what, text, "the port must be 0..65535");
  return static_cast<uint16_t>(value);
}

Result<HostPort> parseHostPort(std::string_view text, bool port_optional, const std::string& what) {
  const std::string form = port_optional ? "HOST, HOST:PORT or [V6ADDR]:PORT" : "HOST:PORT";
  HostPort out;
  std::string_view rest;
  if (!text.empty() && text.front() == '[') {
    const size_t close = text.find(']');
    if (close == std::string_view::npos) return bad(what, text, "no ']' after an IPv6 address");
    out.host = std::string(text.substr(1, close - 1));
    rest = text.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return bad(what, text, "expected ':' after ']'");
  } else {
    const size_t colon = text.find(':');
    if (colon != std::string_view::npos && text.find(':', colon + 1) != std::string_view::npos) {
      // Several colons: a bare IPv6 address, which cannot carry a port.
      if (!port_optional) return bad(what, text, "write an IPv6 address as [V6ADDR]:PORT");
      out.host = std::string(text);
      return out;
    }
    out.host = std::string(text.substr(0, colon));
    if (colon != std::string_view::npos) rest = text.substr(colon);
  }
  if (out.host.empty()) return bad(what, text, "no host (expected " + form + ")");
  if (out.host.find_first_of(" \t\r\n[]") != std::string::npos) {
    return bad(what, text, "the host contains a blank or a bracket");
  }
  if (rest.empty()) {
    if (!port_optional) return bad(what, text, "no port (expected " + form + ")");
    return out;
  }
  auto port = parsePort(rest.substr(1), what);
  if (!port) return port.status();
  out.port = *port;
  out.has_port = true;
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

}  // namespace eccl
