#include "src/coll/ring_broadcast.h"

#include <string>

#include "src/coll/buffer_ring_op.h"

namespace eccl::coll {

Status ringBroadcast(const RingView& ring, const BroadcastArgs& args, const CollOptions& options,
                     std::chrono::steady_clock::time_point deadline, OpState& state, OpInfo* info) {
  const auto started = std::chrono::steady_clock::now();
  ECCL_RETURN_IF_ERROR(checkBroadcastArgs(args, ring.world_size));
  const size_t element = reduce::dtypeSize(args.dtype);
  auto plan = RingPlan::broadcast(ring.world_size, ring.rank, args.root, args.count,
                                  chunkElements(options, element));
  if (!plan) return plan.status();
  return runRingOp(ring, args.count, started, info, [&] {
    OpDigest digest = ringDigest(Collective::kBroadcast, args.tag, args.count, args.dtype);
    digest.root = args.root;
    return BufferRingOp(ring, *plan, options, deadline, state, digest,
                        "broadcast (tag " + std::to_string(args.tag) + ", count " +
                            std::to_string(args.count) + ", root " + std::to_string(args.root) +
                            ")",
                        static_cast<uint8_t*>(args.buffer));
  });
}

}  // namespace eccl::coll
