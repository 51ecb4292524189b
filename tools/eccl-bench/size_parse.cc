#include "tools/eccl-bench/size_parse.h"

#include <cctype>
#include <charconv>
#include <limits>

namespace eccl::tools::bench {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The multiplier for a suffix, or 0 when the suffix is not one we accept.
uint64_t suffixMultiplier(std::string_view suffix) {
  const std::string s = lower(suffix);
  if (s.empty() || s == "b") return 1;
  static constexpr char kUnits[] = {'k', 'm', 'g', 't'};
  uint64_t multiplier = 1;
  for (char unit : kUnits) {
    multiplier <<= 10;
    if (s[0] != unit) continue;
    const std::string_view rest = std::string_view(s).substr(1);
    if (rest.empty() || rest == "b" || rest == "ib") return multiplier;
    return 0;
  }
  return 0;
}

}  // namespace

Result<uint64_t> parseSize(std::string_view text) {
  const std::string_view original = text;
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) {
    text.remove_prefix(1);
  }
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) {
    text.remove_suffix(1);
  }
  uint64_t count = 0;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), count);
  if (error == std::errc::result_out_of_range) {
    return invalidArgument("size '" + std::string(original) + "' is too large");
  }
  if (error != std::errc() || end == text.data()) {
    return invalidArgument("size '" + std::string(original) +
                           "' is not a number with an optional K/M/G/T suffix");
  }
  const std::string_view suffix(end, static_cast<size_t>(text.data() + text.size() - end));
  const uint64_t multiplier = suffixMultiplier(suffix);
  if (multiplier == 0) {
    return invalidArgument("size '" + std::string(original) + "' has unknown unit '" +
                           std::string(suffix) + "' (use K, M, G or T; binary units)");
  }
  if (count > std::numeric_limits<uint64_t>::max() / multiplier) {
    return invalidArgument("size '" + std::string(original) + "' is too large");
  }
  if (count == 0) return invalidArgument("size '" + std::string(original) + "' is zero");
  return count * multiplier;
}

Result<std::vector<uint64_t>> parseSizeList(std::string_view text) {
  std::vector<uint64_t> sizes;
  while (true) {
    const size_t comma = text.find(',');
    auto size = parseSize(text.substr(0, comma));
    if (!size) return size.status();
    sizes.push_back(*size);
    if (comma == std::string_view::npos) break;
    text.remove_prefix(comma + 1);
  }
  return sizes;
}

std::string formatSize(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  size_t unit = 0;
  while (unit + 1 < std::size(kUnits) && bytes != 0 && bytes % 1024 == 0) {
    bytes /= 1024;
    ++unit;
  }
  return std::to_string(bytes) + " " + kUnits[unit];
}

}  // namespace eccl::tools::bench
