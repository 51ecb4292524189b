#include "src/coll/ring_allreduce.h"

#include <cstring>
#include <string>

#include "src/coll/buffer_ring_op.h"
#include "src/coll/quant_ring_op.h"

namespace eccl::coll {

Status ringAllReduce(const RingView& ring, const AllReduceArgs& args, const CollOptions& options,
                     std::chrono::steady_clock::time_point deadline, OpState& state, OpInfo* info) {
  const auto started = std::chrono::steady_clock::now();
  const size_t element = reduce::dtypeSize(args.dtype);
  auto plan =
      RingPlan::allReduce(ring.world_size, ring.rank, args.count, chunkElements(options, element));
  if (!plan) return plan.status();
  if (args.recv != args.send && args.count > 0) {
    std::memcpy(args.recv, args.send, args.count * element);
  }
  OpDigest digest = ringDigest(Collective::kAllReduce, args.tag, args.count, args.dtype);
  digest.op = args.op;
  const std::string name = "allReduce (tag " + std::to_string(args.tag) + ", count " +
                           std::to_string(args.count) +
                           (args.quantized() ? ", quantized " + quantText(args.quant) : "") + ")";
  auto* buffer = static_cast<uint8_t*>(args.recv);
  // One peer: its data is the result (an average over one peer is the data;
  // nothing is quantized).
  if (args.quantized()) {
    digest.quant = args.quant;
    return runRingOp(ring, args.count, started, info, [&] {
      return QuantRingOp(ring, *plan, options, deadline, state, digest, name, buffer);
    });
  }
  return runRingOp(ring, args.count, started, info, [&] {
    // The reduce-scatter phase reduces in place in recvbuf, the all-gather
    // phase copies each owner's segment over it (ring_plan.h).
    return BufferRingOp(ring, *plan, options, deadline, state, digest, name, buffer);
  });
}

}  // namespace eccl::coll
