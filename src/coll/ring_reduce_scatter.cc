#include "src/coll/ring_reduce_scatter.h"

#include <cstring>
#include <string>

#include "src/coll/reduce_scatter_ring_op.h"

namespace eccl::coll {

Status ringReduceScatterV(const RingView& ring, const ReduceScatterArgs& args,
                          const CollOptions& options,
                          std::chrono::steady_clock::time_point deadline, OpState& state,
                          OpInfo* info) {
  const auto started = std::chrono::steady_clock::now();
  ECCL_RETURN_IF_ERROR(checkReduceScatterArgs(args, ring.world_size, ring.rank));
  const size_t element = reduce::dtypeSize(args.dtype);
  auto plan = RingPlan::reduceScatter(ring.world_size, ring.rank, args.counts,
                                      chunkElements(options, element));
  if (!plan) return plan.status();
  const Span own = plan->segment(ring.rank);
  const auto* send = static_cast<const uint8_t*>(args.send);
  // recvbuf starts as this rank's data of its block; the ring reduces into it.
  if (own.count > 0 && args.recv != send + own.offset * element) {
    std::memcpy(args.recv, send + own.offset * element, own.count * element);
  }
  const size_t total = plan->count();
  // One peer: its block is the result (an average over one peer is the data).
  return runRingOp(ring, total, started, info, [&] {
    OpDigest digest = ringDigest(Collective::kReduceScatter, args.tag, total, args.dtype);
    digest.op = args.op;
    digest.counts_hash = countsHash(args.counts);
    return ReduceScatterRingOp(ring, *plan, options, deadline, state, digest,
                               "reduceScatter (tag " + std::to_string(args.tag) +
                                   ", counts summing to " + std::to_string(total) + ")",
                               send, static_cast<uint8_t*>(args.recv));
  });
}

}  // namespace eccl::coll
