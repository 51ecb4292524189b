// LAN mode: every host on one bridge (in its own namespace, PREFIX-br), each
// host's egress shaped by tbf as in PERFORMANCE.md, or by htb where a
// --slow-link holds traffic to one peer to a lower rate.
#pragma once

#include "src/common/status.h"
#include "tools/eccl-netlab/lab_spec.h"

namespace eccl::tools::netlab {

// The namespaces exist already (hosts and bridge); this adds links, addresses, qdiscs.
Status buildLan(const LabSpec& spec);

// tbf's bucket: max(R·2ms, 64 KiB) bytes.
uint64_t tbfBurstBytes(uint64_t rate_bps);

}  // namespace eccl::tools::netlab
