#include "src/coll/ring_reduce_scatter.h"

#include <algorithm>
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
                                      std::max<size_t>(1, options.chunk_bytes / element));
  if (!plan) return plan.status();
  const Span own = plan->segment(ring.rank);
  const auto* send = static_cast<const uint8_t*>(args.send);
  // recvbuf starts as this rank's data of its block; the ring reduces into it.
  if (own.count > 0 && args.recv != send + own.offset * element) {
    std::memcpy(args.recv, send + own.offset * element, own.count * element);
  }
  Status result;
  uint64_t sent = 0;
  uint64_t received = 0;
  // One peer: its block is the result (an average over one peer is the data).
  if (ring.world_size > 1 && plan->count() > 0) {
    OpDigest digest;
    digest.collective = Collective::kReduceScatter;
    digest.tag = args.tag;
    digest.count = plan->count();
    digest.dtype = args.dtype;
    digest.op = args.op;
    digest.counts_hash = countsHash(args.counts);
    ReduceScatterRingOp op(ring, *plan, options, deadline, state, digest,
                           "reduceScatter (tag " + std::to_string(args.tag) +
                               ", counts summing to " + std::to_string(plan->count()) + ")",
                           send, static_cast<uint8_t*>(args.recv));
    result = op.run();
    sent = op.bytesSent();
    received = op.bytesReceived();
  }
  reportOpInfo(info, started, sent, received, ring.world_size);
  return result;
}

}  // namespace eccl::coll
