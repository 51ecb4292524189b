#include "transport/fault_spec.h"

#include <charconv>
#include <cmath>
#include <map>
#include <vector>

namespace eccl::transport {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> split(std::string_view s, char separator) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t end = s.find(separator, start);
    parts.push_back(trim(s.substr(start, end == std::string_view::npos ? s.npos : end - start)));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

Status bad(std::string_view rule, const std::string& what) {
  return invalidArgument("ECCL_FAULTS: rule '" + std::string(rule) + "': " + what);
}

Result<double> probability(std::string_view rule, std::string_view text) {
  // from_chars for double is in libstdc++ 11+; strtod would accept "inf" and hex.
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) || value < 0 ||
      value > 1) {
    return bad(rule, "p must be a number in [0, 1], got '" + std::string(text) + "'");
  }
  return value;
}

Result<uint64_t> integer(std::string_view rule, std::string_view name, std::string_view text,
                         uint64_t max) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value > max) {
    return bad(rule, std::string(name) + " must be an integer in [0, " + std::to_string(max) +
                         "], got '" + std::string(text) + "'");
  }
  return value;
}

// "ms=200,p=0.01" -> {ms: 200, p: 0.01} (values checked by the caller).
Result<std::map<std::string, std::string_view, std::less<>>> parameters(
    std::string_view rule, std::string_view text, std::initializer_list<std::string_view> allowed) {
  std::map<std::string, std::string_view, std::less<>> out;
  for (std::string_view pair : split(text, ',')) {
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos)
      return bad(rule, "expected name=value, got '" + std::string(pair) + "'");
    const std::string_view name = trim(pair.substr(0, eq));
    bool known = false;
    for (std::string_view a : allowed)
      known = known || a == name;
    if (!known) return bad(rule, "unknown parameter '" + std::string(name) + "'");
    if (!out.emplace(std::string(name), trim(pair.substr(eq + 1))).second) {
      return bad(rule, "parameter '" + std::string(name) + "' given twice");
    }
  }
  for (std::string_view a : allowed) {
    if (out.find(a) == out.end()) return bad(rule, "missing parameter '" + std::string(a) + "'");
  }
  return out;
}

}  // namespace

Result<FaultSpec> parseFaultSpec(std::string_view text) {
  FaultSpec spec;
  for (std::string_view rule : split(text, ';')) {
    if (rule.empty()) continue;
    if (rule.rfind("seed=", 0) == 0) {
      auto seed = integer(rule, "seed", rule.substr(5), UINT64_MAX);
      if (!seed) return seed.status();
      spec.seed = *seed;
      continue;
    }
    const size_t colon = rule.find(':');
    const std::string_view kind = trim(rule.substr(0, colon));
    const std::string_view rest = colon == std::string_view::npos ? "" : rule.substr(colon + 1);
    const bool timed = kind == "delay" || kind == "stall";
    if (!timed && kind != "drop_conn" && kind != "corrupt") {
      return bad(rule, "unknown kind '" + std::string(kind) +
                           "' (drop_conn, delay, stall, corrupt, seed)");
    }
    auto params = timed ? parameters(rule, rest, {"ms", "p"}) : parameters(rule, rest, {"p"});
    if (!params) return params.status();
    auto p = probability(rule, params->at("p"));
    if (!p) return p.status();
    std::chrono::milliseconds ms{0};
    if (timed) {
      auto value = integer(rule, "ms", params->at("ms"), 3'600'000);
      if (!value) return value.status();
      ms = std::chrono::milliseconds(*value);
    }
    if (kind == "drop_conn") spec.drop_p = *p;
    if (kind == "corrupt") spec.corrupt_p = *p;
    if (kind == "delay") spec.delay_p = *p, spec.delay = ms;
    if (kind == "stall") spec.stall_p = *p, spec.stall = ms;
  }
  return spec;
}

std::string FaultSpec::toString() const {
  std::string out;
  auto add = [&](const std::string& rule) { out += (out.empty() ? "" : ";") + rule; };
  if (drop_p > 0) add("drop_conn:p=" + std::to_string(drop_p));
  if (delay_p > 0)
    add("delay:ms=" + std::to_string(delay.count()) + ",p=" + std::to_string(delay_p));
  if (stall_p > 0)
    add("stall:ms=" + std::to_string(stall.count()) + ",p=" + std::to_string(stall_p));
  if (corrupt_p > 0) add("corrupt:p=" + std::to_string(corrupt_p));
  add("seed=" + std::to_string(seed));
  return out;
}

}  // namespace eccl::transport
