#include "src/coll/broadcast_args.h"

#include <limits>
#include <string>

#include "src/coll/op_key.h"

namespace eccl::coll {

Status checkBroadcastArgs(const BroadcastArgs& a, uint32_t world_size) {
  if (!reduce::isValid(a.dtype)) {
    return invalidArgument("broadcast: unknown dtype " + std::to_string(static_cast<int>(a.dtype)));
  }
  ECCL_RETURN_IF_ERROR(checkOpKey({0, a.tag, 0}));
  if (a.root >= world_size) {
    return invalidArgument("broadcast: root " + std::to_string(a.root) + " is not a rank of this " +
                           std::to_string(world_size) + "-peer ring");
  }
  if (a.count == 0) return Status::ok();
  if (a.buffer == nullptr) return invalidArgument("broadcast: buffer is NULL");
  if (a.count > std::numeric_limits<size_t>::max() / reduce::dtypeSize(a.dtype)) {
    return invalidArgument("broadcast: count " + std::to_string(a.count) + " of " +
                           reduce::dtypeName(a.dtype) + " overflows the address space");
  }
  return Status::ok();
}

}  // namespace eccl::coll
