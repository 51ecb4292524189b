// Which peers share this machine's memory: a host id that two processes see
// alike only when a POSIX shared-memory segment one creates is one the other
// can open. It hashes the kernel's boot id with the network, IPC and mount
// namespaces and the user id, so that peers in the network lab's namespaces
// (other network namespaces on one kernel) count as other hosts, as they are
// meant to, and a peer of another user never tries a segment it cannot open.
#pragma once

#include <array>
#include <cstdint>
#include <optional>

namespace eccl::transport::shm {

using HostId = std::array<uint8_t, 16>;

// Computed once per process; none when the boot id cannot be read (then
// shared memory is never offered).
const std::optional<HostId>& thisHostId();

}  // namespace eccl::transport::shm
