// A TUN device created inside a named network namespace: the device belongs to
// the namespace the creating thread is in, so the thread enters it (setns),
// creates the device and comes back.
#pragma once

#include <string>

#include "src/common/status.h"

namespace eccl::tools::netlab {

// Bytes of struct virtio_net_hdr in front of every packet read or written.
inline constexpr size_t kVnetHeaderBytes = 10;

// A non-blocking fd of a new TUN device `device` (IFF_TUN, IFF_NO_PI,
// IFF_VNET_HDR) in namespace `namespace_name`. With `gso`, the kernel may hand
// over TCP segments of up to 64 KiB with partial checksums (TUNSETOFFLOAD).
// The device lives as long as the fd. Call before starting threads.
Result<int> openTunInNamespace(const std::string& namespace_name, const std::string& device,
                               bool gso);

}  // namespace eccl::tools::netlab
