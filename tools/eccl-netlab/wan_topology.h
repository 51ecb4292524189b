// WAN mode: each host reaches the others through its TUN device, routed to the
// delay line daemon (one point-to-point route per peer).
#pragma once

#include <sys/types.h>

#include "src/common/status.h"
#include "tools/eccl-netlab/lab_spec.h"

namespace eccl::tools::netlab {

// Starts the detached daemon (this very binary, hidden subcommand) and waits
// until it holds every host's TUN. Returns its pid.
Result<pid_t> startDelayLine(const LabSpec& spec);

// Addresses, MTU and routes on each host's TUN (the daemon created them).
Status configureWanHosts(const LabSpec& spec);

}  // namespace eccl::tools::netlab
