#include "tools/eccl-netlab/lan_topology.h"

#include <algorithm>
#include <string>
#include <vector>

#include "tools/eccl-netlab/system_command.h"

namespace eccl::tools::netlab {
namespace {

constexpr const char* kHostInterface = "eth0";
constexpr const char* kBridge = "br0";

std::string bridgePort(int host) {
  return "vh" + std::to_string(host);
}

Status run(std::vector<std::string> argv) {
  auto done = runCommand(argv);
  return done ? Status::ok() : done.status();
}

std::string rateArg(uint64_t bps) {
  return std::to_string(bps) + "bit";
}

// htb: a parent class at the link rate, a default child at the link rate and
// one child per slow peer, chosen by a u32 match on the peer's address.
Status shapeWithHtb(const LabSpec& spec, int host, const std::vector<SlowLink>& slow) {
  const std::string ns = hostNamespace(spec.prefix, host);
  const std::string burst = std::to_string(tbfBurstBytes(spec.rate_bps));
  std::vector<std::string> tc = {"tc", "-n", ns};
  auto with = [&](std::vector<std::string> rest) {
    std::vector<std::string> argv = tc;
    argv.insert(argv.end(), rest.begin(), rest.end());
    return argv;
  };
  ECCL_RETURN_IF_ERROR(run(with(
      {"qdisc", "add", "dev", kHostInterface, "root", "handle", "1:", "htb", "default", "10"})));
  ECCL_RETURN_IF_ERROR(
      run(with({"class", "add", "dev", kHostInterface, "parent", "1:", "classid", "1:1", "htb",
                "rate", rateArg(spec.rate_bps), "burst", burst, "cburst", burst})));
  ECCL_RETURN_IF_ERROR(
      run(with({"class", "add", "dev", kHostInterface, "parent", "1:1", "classid", "1:10", "htb",
                "rate", rateArg(spec.rate_bps), "burst", burst, "cburst", burst})));
  int class_id = 20;
  for (const SlowLink& link : slow) {
    const int peer = link.host_a == host ? link.host_b : link.host_a;
    const std::string slow_burst = std::to_string(tbfBurstBytes(link.rate_bps));
    const std::string classid = "1:" + std::to_string(class_id++);
    ECCL_RETURN_IF_ERROR(
        run(with({"class", "add", "dev", kHostInterface, "parent", "1:1", "classid", classid, "htb",
                  "rate", rateArg(link.rate_bps), "ceil", rateArg(link.rate_bps), "burst",
                  slow_burst, "cburst", slow_burst})));
    ECCL_RETURN_IF_ERROR(run(
        with({"filter", "add", "dev", kHostInterface, "parent", "1:", "protocol", "ip", "prio", "1",
              "u32", "match", "ip", "dst", hostAddress(peer) + "/32", "flowid", classid})));
  }
  return Status::ok();
}

Status shapeWithTbf(const LabSpec& spec, int host) {
  return run({"tc", "-n", hostNamespace(spec.prefix, host), "qdisc", "add", "dev", kHostInterface,
              "root", "tbf", "rate", rateArg(spec.rate_bps), "burst",
              std::to_string(tbfBurstBytes(spec.rate_bps)), "latency", "20ms"});
}

}  // namespace

uint64_t tbfBurstBytes(uint64_t rate_bps) {
  return std::max<uint64_t>(rate_bps / 8 / 500, 64 * 1024);
}

Status buildLan(const LabSpec& spec) {
  const std::string bridge_ns = bridgeNamespace(spec.prefix);
  ECCL_RETURN_IF_ERROR(run({"ip", "-n", bridge_ns, "link", "set", "lo", "up"}));
  ECCL_RETURN_IF_ERROR(run({"ip", "-n", bridge_ns, "link", "add", kBridge, "type", "bridge"}));
  ECCL_RETURN_IF_ERROR(run({"ip", "-n", bridge_ns, "link", "set", kBridge, "up"}));
  const std::string mtu = std::to_string(spec.mtu);
  for (int host = 0; host < spec.hosts; ++host) {
    const std::string ns = hostNamespace(spec.prefix, host);
    const std::string port = bridgePort(host);
    // Created inside the bridge namespace with its peer placed straight into
    // the host's: neither end ever appears in the root namespace.
    ECCL_RETURN_IF_ERROR(run({"ip", "-n", bridge_ns, "link", "add", port, "mtu", mtu, "type",
                              "veth", "peer", "name", kHostInterface, "mtu", mtu, "netns", ns}));
    ECCL_RETURN_IF_ERROR(
        run({"ip", "-n", bridge_ns, "link", "set", port, "master", kBridge, "up"}));
    ECCL_RETURN_IF_ERROR(run({"ip", "-n", ns, "addr", "add",
                              hostAddress(host) + "/" + std::to_string(kSubnetPrefixLength), "dev",
                              kHostInterface}));
    ECCL_RETURN_IF_ERROR(run({"ip", "-n", ns, "link", "set", kHostInterface, "up"}));
    std::vector<SlowLink> slow;
    for (const SlowLink& link : spec.slow_links)
      if (link.host_a == host || link.host_b == host) slow.push_back(link);
    ECCL_RETURN_IF_ERROR(slow.empty() ? shapeWithTbf(spec, host) : shapeWithHtb(spec, host, slow));
  }
  return Status::ok();
}

}  // namespace eccl::tools::netlab
