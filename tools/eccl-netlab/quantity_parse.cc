#include "tools/eccl-netlab/quantity_parse.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <utility>

namespace eccl::tools::netlab {
namespace {

struct Unit {
  std::string_view suffix;
  double factor;
};

// Longest suffixes first, so that "kbit" is not read as "bit" after a "k".
constexpr std::array kRateUnits = {
    Unit{"kbit", 1e3}, Unit{"mbit", 1e6}, Unit{"gbit", 1e9}, Unit{"tbit", 1e12}, Unit{"kbps", 8e3},
    Unit{"mbps", 8e6}, Unit{"gbps", 8e9}, Unit{"bit", 1.0},  Unit{"bps", 8.0},
};
constexpr std::array kDurationUnits = {Unit{"ms", 1e3}, Unit{"us", 1.0}, Unit{"s", 1e6}};

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// Splits "1.5gbit" into 1.5 and "gbit"; fails unless the number is a plain decimal.
Result<std::pair<double, std::string>> splitNumber(std::string_view text, std::string_view what) {
  const std::string lower = lowercase(text);
  size_t digits = 0;
  while (digits < lower.size() &&
         (std::isdigit(static_cast<unsigned char>(lower[digits])) || lower[digits] == '.')) {
    ++digits;
  }
  double value = 0;
  const auto [end, error] = std::from_chars(lower.data(), lower.data() + digits, value);
  if (digits == 0 || error != std::errc() || end != lower.data() + digits || !(value >= 0)) {
    return invalidArgument("not a " + std::string(what) + ": '" + std::string(text) + "'");
  }
  return std::pair{value, lower.substr(digits)};
}

template <size_t N>
const Unit* findUnit(const std::array<Unit, N>& units, const std::string& suffix) {
  for (const Unit& unit : units)
    if (unit.suffix == suffix) return &unit;
  return nullptr;
}

// Prints "1.5" or "25" (no trailing zeros).
std::string shortNumber(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.3g", value);
  return text;
}

}  // namespace

Result<uint64_t> parseRate(std::string_view text) {
  auto split = splitNumber(text, "rate (e.g. 1gbit, 200mbit)");
  if (!split) return split.status();
  const auto& [value, suffix] = *split;
  const Unit* unit = suffix.empty() ? &kRateUnits[7] : findUnit(kRateUnits, suffix);
  if (unit == nullptr) {
    return invalidArgument("unknown rate unit in '" + std::string(text) +
                           "' (use bit, kbit, mbit, gbit, tbit, bps, kbps, mbps, gbps)");
  }
  const double bits = std::round(value * unit->factor);
  if (bits < 1)
    return invalidArgument("rate must be at least 1 bit/s: '" + std::string(text) + "'");
  if (bits > 1e13) return invalidArgument("rate above 10 tbit: '" + std::string(text) + "'");
  return static_cast<uint64_t>(bits);
}

Result<std::chrono::microseconds> parseDuration(std::string_view text) {
  auto split = splitNumber(text, "duration (e.g. 25ms, 1s, 500us)");
  if (!split) return split.status();
  const auto& [value, suffix] = *split;
  const Unit* unit = suffix.empty() ? &kDurationUnits[0] : findUnit(kDurationUnits, suffix);
  if (unit == nullptr) {
    return invalidArgument("unknown duration unit in '" + std::string(text) +
                           "' (use s, ms or us)");
  }
  const double micros = std::round(value * unit->factor);
  if (micros > 3600e6)
    return invalidArgument("duration above one hour: '" + std::string(text) + "'");
  return std::chrono::microseconds(static_cast<int64_t>(micros));
}

std::string formatRate(uint64_t bits_per_second) {
  const double bits = static_cast<double>(bits_per_second);
  if (bits >= 1e9) return shortNumber(bits / 1e9) + " Gbit/s";
  if (bits >= 1e6) return shortNumber(bits / 1e6) + " Mbit/s";
  if (bits >= 1e3) return shortNumber(bits / 1e3) + " kbit/s";
  return shortNumber(bits) + " bit/s";
}

std::string formatDuration(std::chrono::microseconds duration) {
  return shortNumber(static_cast<double>(duration.count()) / 1e3) + " ms";
}

}  // namespace eccl::tools::netlab
