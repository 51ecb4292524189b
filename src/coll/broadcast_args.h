// The caller's side of a broadcast and the checks it must pass before any
// message is sent.
#pragma once

#include <cstddef>
#include <cstdint>

#include "src/common/status.h"
#include "src/reduce/reduce.h"

namespace eccl::coll {

struct BroadcastArgs {
  void* buffer = nullptr;  // in place: the root's data on the root, the result on every rank
  size_t count = 0;        // elements
  reduce::DType dtype = reduce::DType::kF32;
  uint32_t root = 0;  // the rank whose buffer is broadcast
  uint64_t tag = 0;
};

// kInvalidArgument naming the bad argument: a NULL buffer (unless count is 0),
// an unknown dtype, a root that is not a rank of the ring, a byte size that
// overflows, a tag that does not fit a stream id.
Status checkBroadcastArgs(const BroadcastArgs& args, uint32_t world_size);

}  // namespace eccl::coll
