#include "src/coll/ring_broadcast.h"

#include <algorithm>
#include <string>

#include "src/coll/buffer_ring_op.h"

namespace eccl::coll {

Status ringBroadcast(const RingView& ring, const BroadcastArgs& args, const CollOptions& options,
                     std::chrono::steady_clock::time_point deadline, OpState& state, OpInfo* info) {
  const auto started = std::chrono::steady_clock::now();
  ECCL_RETURN_IF_ERROR(checkBroadcastArgs(args, ring.world_size));
  const size_t element = reduce::dtypeSize(args.dtype);
  auto plan = RingPlan::broadcast(ring.world_size, ring.rank, args.root, args.count,
                                  std::max<size_t>(1, options.chunk_bytes / element));
  if (!plan) return plan.status();
  Status result;
  uint64_t sent = 0;
  uint64_t received = 0;
  if (ring.world_size > 1 && args.count > 0) {
    OpDigest digest;
    digest.collective = Collective::kBroadcast;
    digest.tag = args.tag;
    digest.count = args.count;
    digest.dtype = args.dtype;
    digest.root = args.root;
    BufferRingOp op(ring, *plan, options, deadline, state, digest,
                    "broadcast (tag " + std::to_string(args.tag) + ", count " +
                        std::to_string(args.count) + ", root " + std::to_string(args.root) + ")",
                    static_cast<uint8_t*>(args.buffer));
    result = op.run();
    sent = op.bytesSent();
    received = op.bytesReceived();
  }
  reportOpInfo(info, started, sent, received, ring.world_size);
  return result;
}

}  // namespace eccl::coll
