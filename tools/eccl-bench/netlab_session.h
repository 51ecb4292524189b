// `eccl-bench ... --netlab lan:1gbit | wan:1gbit:50ms` (and eccl-stress's):
// the tool's ranks run one per network namespace of an eccl-netlab lab that
// the tool brings up for itself (a prefix of its own) and takes down at the end.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/status.h"

namespace eccl::tools::bench {

struct NetlabSpec {
  bool wan = false;
  std::string rate;  // as eccl-netlab takes it: "1gbit", "200mbit"
  double rate_bits_per_s = 0;
  std::chrono::milliseconds rtt{0};  // wan only; each direction delays rtt / 2
  std::string text;                  // as given, for the report
  // lan only: eccl-netlab's --slow-link A-B:RATE, each a pair of hosts whose
  // traffic goes at a lower rate (checked by eccl-netlab).
  std::vector<std::string> slow_links;
};

// "lan:RATE" or "wan:RATE:RTT" (RATE and RTT as eccl-netlab reads them, e.g.
// 1gbit, 50ms; the RTT an even number of milliseconds, at least 2).
Result<NetlabSpec> parseNetlabSpec(std::string_view text);

class NetlabSession;

// The lab a benchmark's --netlab asked for (`text`, as parseNetlabSpec reads
// it), brought up with `hosts` hosts by the eccl-netlab installed next to
// this tool; the error says what was wrong.
// slow_links: eccl-netlab's --slow-link values (a LAN lab only).
Result<std::unique_ptr<NetlabSession>> openNetlab(const std::string& text, int hosts,
                                                  std::vector<std::string> slow_links = {});

// A lab of `hosts` namespaces, up from create() until destruction (down, even
// when a benchmark failed).
class NetlabSession {
 public:
  // `tool`: the eccl-netlab executable.
  static Result<std::unique_ptr<NetlabSession>> create(std::string tool, const NetlabSpec& spec,
                                                       int hosts);
  ~NetlabSession();
  NetlabSession(const NetlabSession&) = delete;
  NetlabSession& operator=(const NetlabSession&) = delete;

  const NetlabSpec& spec() const { return spec_; }
  const std::string& prefix() const { return prefix_; }
  int hosts() const { return hosts_; }
  std::string namespaceOf(int host) const;
  std::string addressOf(int host) const;
  // argv run inside the host's namespace (argv[0] must be a full path); the
  // result starts with the path of `ip`.
  std::vector<std::string> inside(int host, std::vector<std::string> argv) const;
  // The lab's network, "10.213.0.0/24".
  std::string subnet() const;
  // A link percentage: busbw (GB/s) against the lab's rate.
  double linkPercent(double busbw_gbs) const {
    return busbw_gbs * 8e9 / spec_.rate_bits_per_s * 100;
  }
  // The link's bandwidth-delay product (rate x RTT) in bytes; 0 for a LAN,
  // whose RTT the lab does not set.
  double bdpBytes() const {
    return spec_.rate_bits_per_s / 8 * std::chrono::duration<double>(spec_.rtt).count();
  }

  // What the emulated link carries at best: iperf3 with `streams` TCP streams
  // each way at once between hosts 0 and 1 (eccl-netlab ceiling), Gbit/s per
  // direction; measured by measureCeiling(), read by ceiling().
  struct Ceiling {
    int streams = 0;
    int seconds = 0;
    double forward_gbps = 0;
    double backward_gbps = 0;
    double meanGbps() const { return (forward_gbps + backward_gbps) / 2; }
  };
  Status measureCeiling(int streams, int seconds);
  const Ceiling& ceiling() const { return ceiling_; }
  // busbw (GB/s) against the measured ceiling's mean direction; 0 before one.
  double ceilingPercent(double busbw_gbs) const {
    return ceiling_.meanGbps() > 0 ? busbw_gbs * 8 / ceiling_.meanGbps() * 100 : 0;
  }

 private:
  NetlabSession(std::string tool, NetlabSpec spec, std::string prefix)
      : tool_(std::move(tool)), spec_(std::move(spec)), prefix_(std::move(prefix)) {}
  Status up(int hosts);

  const std::string tool_;
  const NetlabSpec spec_;
  const std::string prefix_;
  int hosts_ = 0;
  Ceiling ceiling_;
};

// `eccl-bench netns-rsh --prefix P [--session-dirs D] HOST WORDS...`: what
// mpirun runs in place of ssh to start a daemon on a host of lab P: `ip netns
// exec NS /bin/sh -c "WORDS..."` for the namespace of HOST's address (the
// words are a command for a shell, as ssh would hand them to one). The lab's
// hosts share one hostname and one /tmp, so Open MPI's session directories
// (/tmp/ompi.HOSTNAME.UID/...) of all of them would be one tree, which one
// daemon's clean-up can pull from under another's set-up; with D, each host's
// daemon (and its ranks) keeps its own under D/hostN. Does not return on
// success.
int runNetnsRsh(const std::string& prefix, const std::string& session_dirs,
                const std::vector<std::string>& args);

// Moves the calling thread into the network namespace `name` (ip netns):
// the sockets it opens, and the threads it starts, belong to that namespace.
Status enterNamespace(const std::string& name);

}  // namespace eccl::tools::bench
