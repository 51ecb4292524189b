#include "src/coll/reduce_scatter_args.h"

#include <string>

#include "src/coll/block_counts.h"
#include "src/coll/op_key.h"

namespace eccl::coll {

Status checkReduceScatterArgs(const ReduceScatterArgs& a, uint32_t world_size, uint32_t rank) {
  if (!reduce::isValid(a.dtype)) {
    return invalidArgument("reduceScatter: unknown dtype " +
                           std::to_string(static_cast<int>(a.dtype)));
  }
  if (!reduce::isValid(a.op)) {
    return invalidArgument("reduceScatter: unknown op " + std::to_string(static_cast<int>(a.op)));
  }
  ECCL_RETURN_IF_ERROR(checkOpKey({0, a.tag, 0}));
  const size_t element = reduce::dtypeSize(a.dtype);
  auto total = checkBlockCounts("reduceScatter", a.counts, world_size, element);
  if (!total) return total.status();
  if (rank >= world_size) return internalError("reduceScatter: rank outside the ring");
  const size_t mine = a.counts[rank] * element;
  if (*total > 0 && a.send == nullptr) return invalidArgument("reduceScatter: sendbuf is NULL");
  if (mine > 0 && a.recv == nullptr) return invalidArgument("reduceScatter: recvbuf is NULL");
  const auto* own_block =
      static_cast<const uint8_t*>(a.send) + blockOffset(a.counts, rank) * element;
  if (a.recv != own_block && rangesOverlap(a.recv, mine, a.send, *total * element)) {
    return invalidArgument(
        "reduceScatter: recvbuf overlaps sendbuf without being this rank's block of it (pass "
        "sendbuf + the counts before this rank for an in-place op)");
  }
  return Status::ok();
}

}  // namespace eccl::coll
