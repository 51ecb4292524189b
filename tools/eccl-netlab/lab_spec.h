// What a lab is: its hosts, their namespaces and addresses, and the link model.
//
// Addresses: host i is 10.213.0.(i+1) in every lab (at most 250 hosts). Each
// host lives in its own namespace, so labs with different prefixes may run at
// once without their addresses ever meeting.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/status.h"

namespace eccl::tools::netlab {

inline constexpr std::string_view kDefaultPrefix = "eccl-lab";
inline constexpr int kMaxHosts = 250;
// 10.213.0.0/24, host i at .(i+1).
inline constexpr uint32_t kSubnetBase = (10u << 24) | (213u << 16);
inline constexpr int kSubnetPrefixLength = 24;

// A pair of hosts whose traffic to each other is held to a lower rate (LAN mode).
struct SlowLink {
  int host_a = 0;
  int host_b = 0;
  uint64_t rate_bps = 0;
};

enum class LabMode { kLan, kWan };

struct LabSpec {
  std::string prefix{kDefaultPrefix};
  int hosts = 2;
  uint64_t rate_bps = 1'000'000'000;
  // One-way delay; zero selects LAN mode (bridge + tbf), above zero the TUN delay line.
  std::chrono::microseconds delay{0};
  // Tail-drop queue of the delay line, as time at the link rate.
  std::chrono::microseconds queue{25'000};
  int mtu = 1500;
  // The delay line lets the kernel hand it TCP segments of up to 64 KiB (TUN GSO
  // offload) and forwards them whole: far fewer packets per byte.
  bool gso = true;
  std::vector<SlowLink> slow_links;

  LabMode mode() const { return delay.count() > 0 ? LabMode::kWan : LabMode::kLan; }
};

// Letters, digits, '-' and '_', starting with a letter, at most 24 characters.
Status validatePrefix(std::string_view prefix);
// Every field in range; slow links name existing, distinct hosts and need LAN mode.
Status validateSpec(const LabSpec& spec);

// "A-B:RATE", e.g. "0-2:100mbit".
Result<SlowLink> parseSlowLink(std::string_view text);

std::string hostNamespace(std::string_view prefix, int host);  // "eccl-lab-h0"
std::string bridgeNamespace(std::string_view prefix);          // "eccl-lab-br"
uint32_t hostAddressValue(int host);                           // host order
std::string hostAddress(int host);                             // "10.213.0.1"
std::string subnetCidr();                                      // "10.213.0.0/24"
// The host an address belongs to, or -1.
int hostOfAddress(uint32_t address_host_order, int hosts);

// True for "PREFIX-h<digits>" and "PREFIX-br": the names a lab of this prefix may own.
bool isLabNamespace(std::string_view prefix, std::string_view name);

// Host index from "3" or from "eccl-lab-h3" / "h3".
Result<int> parseHostReference(std::string_view prefix, int hosts, std::string_view text);

// Bytes of the delay line's queue: queue time at the rate, but room for at least
// two 64 KiB GSO packets, else a slow link could never pass one.
uint64_t queueLimitBytes(const LabSpec& spec);

std::string_view modeName(LabMode mode);

}  // namespace eccl::tools::netlab
