// QueuePair over libibverbs: a reliable-connected queue pair on one port of
// this machine's first usable RDMA device, its completion queue and channel,
// and the registered ring, credit word and staging buffer.
//
// Not run on hardware yet: these build machines have no RDMA device (the
// queue-pair contract tests run against it where one exists).
#pragma once

#include <memory>
#include <optional>

#include "transport/rdma/queue_pair.h"

namespace eccl::transport::rdma {

// Queue pairs on the first usable port (rdma_device.h); kUnsupported saying
// why when this machine has none. `gid_index`: ECCL_RDMA_GID_INDEX.
Result<std::shared_ptr<QueuePairFactory>> verbsQueuePairs(
    std::optional<uint32_t> gid_index = std::nullopt);

// verbsQueuePairs, asked once per process and GID index (the device stays
// open, and a machine without one is not probed again): what every endpoint
// of the process uses.
Result<std::shared_ptr<QueuePairFactory>> sharedVerbsQueuePairs(
    std::optional<uint32_t> gid_index = std::nullopt);

}  // namespace eccl::transport::rdma
