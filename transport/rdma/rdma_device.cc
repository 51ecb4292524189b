#include "transport/rdma/rdma_device.h"

#include <spdlog/fmt/fmt.h>

#include <algorithm>
#include <memory>

#include "transport/rdma/verbs_library.h"

namespace eccl::transport::rdma {
namespace {

bool isIpv4Mapped(const Gid& gid) {
  static constexpr std::array<uint8_t, 12> kPrefix = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  return std::equal(kPrefix.begin(), kPrefix.end(), gid.begin());
}

std::string gidText(const Gid& gid) {
  if (isIpv4Mapped(gid))
    return fmt::format("::ffff:{}.{}.{}.{}", gid[12], gid[13], gid[14], gid[15]);
  std::string out;
  for (size_t i = 0; i < gid.size(); i += 2)
    out += fmt::format("{}{:02x}{:02x}", i == 0 ? "" : ":", gid[i], gid[i + 1]);
  return out;
}

uint32_t mtuBytes(uint8_t mtu) {
  return mtu >= 1 && mtu <= 5 ? 128u << mtu : 0;
}

}  // namespace

std::optional<GidEntry> chooseGid(LinkLayer link, const std::vector<GidEntry>& table,
                                  std::optional<uint32_t> wanted) {
  std::vector<const GidEntry*> valid;
  for (const GidEntry& entry : table) {
    if (!isZeroGid(entry.gid)) valid.push_back(&entry);
  }
  if (wanted) {
    for (const GidEntry* entry : valid) {
      if (entry->index == *wanted) return *entry;
    }
    return std::nullopt;
  }
  const auto first = [&](auto&& fits) -> std::optional<GidEntry> {
    const GidEntry* best = nullptr;
    for (const GidEntry* entry : valid) {
      if (fits(*entry) && (best == nullptr || entry->index < best->index)) best = entry;
    }
    return best != nullptr ? std::optional<GidEntry>(*best) : std::nullopt;
  };
  if (link == LinkLayer::kInfiniBand) return first([](const GidEntry&) { return true; });
  const auto v2 = [](const GidEntry& e) { return e.type == GidType::kRoceV2; };
  if (auto mapped = first([&](const GidEntry& e) { return v2(e) && isIpv4Mapped(e.gid); })) {
    return mapped;
  }
  return first(v2);
}

std::string describe(const RdmaPort& port) {
  return fmt::format("{}:{} ({}, MTU {}, GID index {} {}{})", port.device, port.port,
                     port.link_layer == LinkLayer::kInfiniBand ? "InfiniBand" : "RoCE",
                     mtuBytes(port.active_mtu), port.gid_index, gidText(port.gid),
                     port.lid != 0 ? fmt::format(", LID {}", port.lid) : "");
}

#ifdef ECCL_HAVE_IBVERBS

Result<std::vector<RdmaPort>> usableRdmaPorts(std::optional<uint32_t> gid_index) {
  auto loaded = verbsLibrary();
  if (!loaded) return loaded.status();
  const VerbsLibrary& verbs = **loaded;
  int count = 0;
  std::unique_ptr<ibv_device*, decltype(verbs.free_device_list)> devices(
      verbs.get_device_list(&count), verbs.free_device_list);
  if (!devices || count == 0) {
    return unsupportedError("no RDMA device (libibverbs lists none)");
  }
  std::vector<RdmaPort> ports;
  std::vector<std::string> skipped;
  for (int d = 0; d < count; ++d) {
    const std::string name = verbs.get_device_name(devices.get()[d]);
    std::unique_ptr<ibv_context, decltype(verbs.close_device)> context(
        verbs.open_device(devices.get()[d]), verbs.close_device);
    ibv_device_attr device{};
    if (!context || verbs.query_device(context.get(), &device) != 0) {
      skipped.push_back(name + " (cannot be opened)");
      continue;
    }
    std::vector<ibv_gid_entry> raw(256);
    const ssize_t entries =
        verbs.query_gid_table(context.get(), raw.data(), raw.size(), 0, sizeof(ibv_gid_entry));
    for (uint8_t p = 1; p <= device.phys_port_cnt; ++p) {
      ibv_port_attr attr{};
      if (queryPort(verbs, context.get(), p, attr) != 0 || attr.state != IBV_PORT_ACTIVE) {
        skipped.push_back(fmt::format("{}:{} (not active)", name, p));
        continue;
      }
      RdmaPort port;
      port.device = name;
      port.port = p;
      port.link_layer = attr.link_layer == IBV_LINK_LAYER_ETHERNET ? LinkLayer::kEthernet
                                                                   : LinkLayer::kInfiniBand;
      port.lid = attr.lid;
      port.active_mtu = static_cast<uint8_t>(attr.active_mtu);
      std::vector<GidEntry> table;
      for (ssize_t i = 0; i < entries; ++i) {
        if (raw[i].port_num != p) continue;
        GidEntry entry;
        entry.index = raw[i].gid_index;
        std::copy(std::begin(raw[i].gid.raw), std::end(raw[i].gid.raw), entry.gid.begin());
        entry.type = raw[i].gid_type == IBV_GID_TYPE_ROCE_V2   ? GidType::kRoceV2
                     : raw[i].gid_type == IBV_GID_TYPE_ROCE_V1 ? GidType::kRoceV1
                                                               : GidType::kInfiniBand;
        table.push_back(entry);
      }
      auto gid = chooseGid(port.link_layer, table, gid_index);
      if (!gid) {
        skipped.push_back(fmt::format("{}:{} (no fitting GID)", name, p));
        continue;
      }
      port.gid_index = gid->index;
      port.gid = gid->gid;
      ports.push_back(std::move(port));
    }
  }
  if (ports.empty()) {
    std::string list;
    for (const std::string& s : skipped)
      list += (list.empty() ? "" : ", ") + s;
    return unsupportedError("no usable RDMA port: " + list);
  }
  return ports;
}

#else

Result<std::vector<RdmaPort>> usableRdmaPorts(std::optional<uint32_t>) {
  return unsupportedError("this build of ECCL has no RDMA (built without the libibverbs headers)");
}

#endif  // ECCL_HAVE_IBVERBS

}  // namespace eccl::transport::rdma
