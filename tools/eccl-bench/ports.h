// Local TCP ports for comparator servers (iperf3, later Gloo/MPI rendezvous).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "src/common/status.h"

namespace eccl::tools::bench {

// A free TCP port on host right now (bind port 0, read it, close). Another
// process may take it before it is used: callers retry on "address in use".
Result<uint16_t> pickFreePort(const std::string& host);

// True when some socket listens on this TCP port, per /proc/net/tcp and tcp6.
// It checks without connecting, so a one-shot server (iperf3 -1) is not used up.
bool isTcpPortListening(uint16_t port);

}  // namespace eccl::tools::bench
