// Which RDMA ports this machine has, and which GID a connection uses on each.
// The choice of GID is separate from the probe so that it is tested on
// machines without a device.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "src/common/status.h"

namespace eccl::transport::rdma {

enum class LinkLayer : uint8_t { kInfiniBand = 1, kEthernet = 2 };
enum class GidType : uint8_t { kInfiniBand, kRoceV1, kRoceV2 };

using Gid = std::array<uint8_t, 16>;

// An unset GID table entry (or address) is all zeros.
inline bool isZeroGid(const Gid& gid) {
  return std::all_of(gid.begin(), gid.end(), [](uint8_t b) { return b == 0; });
}

struct GidEntry {
  uint32_t index = 0;
  Gid gid{};
  GidType type = GidType::kInfiniBand;
};

// One active port of one device.
struct RdmaPort {
  std::string device;  // e.g. "mlx5_0"
  uint8_t port = 1;
  LinkLayer link_layer = LinkLayer::kInfiniBand;
  uint16_t lid = 0;        // InfiniBand's local id (0 over Ethernet)
  uint8_t active_mtu = 0;  // ibv_mtu: 1 = 256 B ... 5 = 4096 B
  uint32_t gid_index = 0;
  Gid gid{};
};

// The GID a connection names: `wanted` (ECCL_RDMA_GID_INDEX) if the port has
// it; else over InfiniBand the first, over Ethernet a RoCE v2 one (routable),
// an IPv4-mapped one first (what a RoCE fabric is usually configured for).
// Nothing when the port has no fitting GID.
std::optional<GidEntry> chooseGid(LinkLayer link, const std::vector<GidEntry>& table,
                                  std::optional<uint32_t> wanted = std::nullopt);

// Every active port of every device, in the order libibverbs lists them;
// kUnsupported saying why when there is none (no libibverbs, no device, no
// active port, a build without the verbs headers).
Result<std::vector<RdmaPort>> usableRdmaPorts(std::optional<uint32_t> gid_index = std::nullopt);

// "mlx5_0:1 (RoCE, MTU 4096, GID index 3 ::ffff:10.0.0.1)" for logs.
std::string describe(const RdmaPort& port);

}  // namespace eccl::transport::rdma
