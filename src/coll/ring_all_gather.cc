#include "src/coll/ring_all_gather.h"

#include <cstring>
#include <string>

#include "src/coll/buffer_ring_op.h"

namespace eccl::coll {

Status ringAllGatherV(const RingView& ring, const AllGatherArgs& args, const CollOptions& options,
                      std::chrono::steady_clock::time_point deadline, OpState& state,
                      OpInfo* info) {
  const auto started = std::chrono::steady_clock::now();
  ECCL_RETURN_IF_ERROR(checkAllGatherArgs(args, ring.world_size, ring.rank));
  const size_t element = reduce::dtypeSize(args.dtype);
  auto plan =
      RingPlan::allGather(ring.world_size, ring.rank, args.counts, chunkElements(options, element));
  if (!plan) return plan.status();
  const Span own = plan->segment(ring.rank);
  auto* recv = static_cast<uint8_t*>(args.recv);
  if (own.count > 0 && args.send != recv + own.offset * element) {
    std::memcpy(recv + own.offset * element, args.send, own.count * element);
  }
  const size_t total = plan->count();
  return runRingOp(ring, total, started, info, [&] {
    OpDigest digest = ringDigest(Collective::kAllGather, args.tag, total, args.dtype);
    digest.counts_hash = countsHash(args.counts);
    return BufferRingOp(ring, *plan, options, deadline, state, digest,
                        "allGather (tag " + std::to_string(args.tag) + ", counts summing to " +
                            std::to_string(total) + ")",
                        recv);
  });
}

}  // namespace eccl::coll
