#include "src/coll/all_gather_args.h"

#include <string>

#include "src/coll/block_counts.h"
#include "src/coll/op_key.h"

namespace eccl::coll {

Status checkAllGatherArgs(const AllGatherArgs& a, uint32_t world_size, uint32_t rank) {
  if (!reduce::isValid(a.dtype)) {
    return invalidArgument("allGather: unknown dtype " + std::to_string(static_cast<int>(a.dtype)));
  }
  ECCL_RETURN_IF_ERROR(checkOpKey({0, a.tag, 0}));
  const size_t element = reduce::dtypeSize(a.dtype);
  auto total = checkBlockCounts("allGather", a.counts, world_size, element);
  if (!total) return total.status();
  if (rank >= world_size) return internalError("allGather: rank outside the ring");
  const size_t mine = a.counts[rank] * element;
  if (mine > 0 && a.send == nullptr) return invalidArgument("allGather: sendbuf is NULL");
  if (*total > 0 && a.recv == nullptr) return invalidArgument("allGather: recvbuf is NULL");
  const auto* own_block =
      static_cast<const uint8_t*>(a.recv) + blockOffset(a.counts, rank) * element;
  if (a.send != own_block && rangesOverlap(a.send, mine, a.recv, *total * element)) {
    return invalidArgument(
        "allGather: sendbuf overlaps recvbuf without being this rank's block of it (pass recvbuf "
        "+ the counts before this rank for an in-place op)");
  }
  return Status::ok();
}

}  // namespace eccl::coll
