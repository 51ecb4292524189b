#include "c_api/env.h"

#include <cstdlib>
#include <mutex>
#include <set>

#include "src/common/host_port.h"

namespace eccl::capi {

const char* intern(std::string_view text) {
  // Node-based: the strings never move, so their c_str() stay valid.
  static std::mutex mu;
  static auto* strings = new std::set<std::string, std::less<>>();  // never freed on purpose
  std::lock_guard lock(mu);
  auto it = strings->find(text);
  if (it == strings->end()) it = strings->emplace(text).first;
  return it->c_str();
}

std::optional<std::string> envString(const char* name) {
  // getenv races only with setenv; the API documents ConfigInit as reading the environment.
  const char* value = std::getenv(name);
  if (value == nullptr) return std::nullopt;
  return std::string(value);
}

Status envUint32(const char* name, uint32_t& out) {
  auto value = envString(name);
  if (!value) return Status::ok();
  const bool digits = !value->empty() && value->size() <= 10 &&
                      value->find_first_not_of("0123456789") == std::string::npos;
  const unsigned long long parsed = digits ? std::strtoull(value->c_str(), nullptr, 10) : 0;
  if (!digits || parsed > UINT32_MAX) {
    return invalidArgument("environment variable " + std::string(name) + "=\"" + *value +
                           "\": expected a decimal number 0..4294967295");
  }
  out = static_cast<uint32_t>(parsed);
  return Status::ok();
}

Status envInt32(const char* name, int32_t& out) {
  auto value = envString(name);
  if (!value) return Status::ok();
  const bool negative = !value->empty() && (*value)[0] == '-';
  const std::string digits = negative ? value->substr(1) : *value;
  const bool ok = !digits.empty() && digits.size() <= 10 &&
                  digits.find_first_not_of("0123456789") == std::string::npos;
  const long long parsed = ok ? std::strtoll(digits.c_str(), nullptr, 10) : 0;
  const long long signed_value = negative ? -parsed : parsed;
  if (!ok || signed_value < INT32_MIN || signed_value > INT32_MAX) {
    return invalidArgument("environment variable " + std::string(name) + "=\"" + *value +
                           "\": expected a decimal number -2147483648..2147483647");
  }
  out = static_cast<int32_t>(signed_value);
  return Status::ok();
}

Status envAddress(const char* name, bool port_optional, bool empty_ok, const char*& out) {
  auto value = envString(name);
  if (!value) return Status::ok();
  if (value->empty() && empty_ok) {
    out = intern("");
    return Status::ok();
  }
  auto parsed = parseHostPort(*value, port_optional, "environment variable " + std::string(name));
  if (!parsed) return parsed.status();
  out = intern(*value);
  return Status::ok();
}

Status envText(const char* name, bool empty_is_null, const char*& out) {
  auto value = envString(name);
  if (!value) return Status::ok();
  if (value->empty()) {
    if (!empty_is_null) {
      return invalidArgument("environment variable " + std::string(name) + " is empty");
    }
    out = nullptr;
    return Status::ok();
  }
  out = intern(*value);
  return Status::ok();
}

}  // namespace eccl::capi
