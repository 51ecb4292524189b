#include "tools/eccl-netlab/lab_spec.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "tools/eccl-netlab/quantity_parse.h"

namespace eccl::tools::netlab {
namespace {

Result<int> parseIndex(std::string_view text) {
  int value = -1;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || error != std::errc() || end != text.data() + text.size() || value < 0) {
    return invalidArgument("not a host index: '" + std::string(text) + "'");
  }
  return value;
}

bool allDigits(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(),
                                      [](unsigned char c) { return std::isdigit(c) != 0; });
}

}  // namespace

Status validatePrefix(std::string_view prefix) {
  const bool valid = !prefix.empty() && prefix.size() <= 24 &&
                     std::isalpha(static_cast<unsigned char>(prefix[0])) &&
                     std::all_of(prefix.begin(), prefix.end(), [](unsigned char c) {
                       return std::isalnum(c) != 0 || c == '-' || c == '_';
                     });
  if (valid) return Status::ok();
  return invalidArgument("bad prefix '" + std::string(prefix) +
                         "': letters, digits, '-', '_', starting with a letter, at most 24");
}

Status validateSpec(const LabSpec& spec) {
  ECCL_RETURN_IF_ERROR(validatePrefix(spec.prefix));
  if (spec.hosts < 2 || spec.hosts > kMaxHosts) {
    return invalidArgument("--hosts must be 2.." + std::to_string(kMaxHosts));
  }
  if (spec.mtu < 576 || spec.mtu > 65521) return invalidArgument("--mtu must be 576..65521");
  if (spec.rate_bps < 8000) return invalidArgument("--rate must be at least 8 kbit");
  for (const SlowLink& link : spec.slow_links) {
    if (link.host_a >= spec.hosts || link.host_b >= spec.hosts || link.host_a == link.host_b) {
      return invalidArgument("--slow-link " + std::to_string(link.host_a) + "-" +
                             std::to_string(link.host_b) + ": needs two distinct hosts below " +
                             std::to_string(spec.hosts));
    }
    if (link.rate_bps >= spec.rate_bps) {
      return invalidArgument("--slow-link rate must be below --rate");
    }
  }
  if (!spec.slow_links.empty() && spec.mode() == LabMode::kWan) {
    return invalidArgument("--slow-link works in LAN mode only (without --delay)");
  }
  return Status::ok();
}

Result<SlowLink> parseSlowLink(std::string_view text) {
  const size_t dash = text.find('-');
  const size_t colon = text.find(':');
  if (dash == std::string_view::npos || colon == std::string_view::npos || colon < dash) {
    return invalidArgument("--slow-link wants A-B:RATE (e.g. 0-1:100mbit), got '" +
                           std::string(text) + "'");
  }
  auto a = parseIndex(text.substr(0, dash));
  if (!a) return a.status();
  auto b = parseIndex(text.substr(dash + 1, colon - dash - 1));
  if (!b) return b.status();
  auto rate = parseRate(text.substr(colon + 1));
  if (!rate) return rate.status();
  return SlowLink{*a, *b, *rate};
}

std::string hostNamespace(std::string_view prefix, int host) {
  return std::string(prefix) + "-h" + std::to_string(host);
}

std::string bridgeNamespace(std::string_view prefix) {
  return std::string(prefix) + "-br";
}

uint32_t hostAddressValue(int host) {
  return kSubnetBase + static_cast<uint32_t>(host) + 1;
}

namespace {

std::string dottedQuad(uint32_t value) {
  return std::to_string(value >> 24) + "." + std::to_string((value >> 16) & 0xff) + "." +
         std::to_string((value >> 8) & 0xff) + "." + std::to_string(value & 0xff);
}

}  // namespace

std::string hostAddress(int host) {
  return dottedQuad(hostAddressValue(host));
}

std::string subnetCidr() {
  return dottedQuad(kSubnetBase) + "/" + std::to_string(kSubnetPrefixLength);
}

int hostOfAddress(uint32_t address_host_order, int hosts) {
  const int64_t index = static_cast<int64_t>(address_host_order) - hostAddressValue(0);
  return index >= 0 && index < hosts ? static_cast<int>(index) : -1;
}

bool isLabNamespace(std::string_view prefix, std::string_view name) {
  if (name.size() <= prefix.size() + 1 || name.substr(0, prefix.size()) != prefix ||
      name[prefix.size()] != '-') {
    return false;
  }
  const std::string_view rest = name.substr(prefix.size() + 1);
  return rest == "br" || (rest.size() > 1 && rest[0] == 'h' && allDigits(rest.substr(1)));
}

Result<int> parseHostReference(std::string_view prefix, int hosts, std::string_view text) {
  std::string_view index_text = text;
  const std::string full_prefix = std::string(prefix) + "-h";
  if (text.substr(0, full_prefix.size()) == full_prefix) {
    index_text = text.substr(full_prefix.size());
  } else if (!text.empty() && text[0] == 'h') {
    index_text = text.substr(1);
  }
  auto index = allDigits(index_text) ? parseIndex(index_text) : Result<int>(invalidArgument(""));
  if (!index || *index >= hosts) {
    return invalidArgument("no host '" + std::string(text) + "' in lab " + std::string(prefix) +
                           " (hosts 0.." + std::to_string(hosts - 1) + ")");
  }
  return *index;
}

uint64_t queueLimitBytes(const LabSpec& spec) {
  const uint64_t at_rate = static_cast<uint64_t>(static_cast<double>(spec.rate_bps) / 8.0 *
                                                 static_cast<double>(spec.queue.count()) / 1e6);
  return std::max<uint64_t>(at_rate, 2 * 70'000);
}

std::string_view modeName(LabMode mode) {
  return mode == LabMode::kWan ? "wan" : "lan";
}

}  // namespace eccl::tools::netlab
