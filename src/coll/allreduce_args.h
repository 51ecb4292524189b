// The caller's side of an all-reduce and the checks it must pass before any
// message is sent.
#pragma once

#include <cstddef>
#include <cstdint>

#include "src/common/status.h"
#include "src/quant/quant.h"
#include "src/reduce/reduce.h"

namespace eccl::coll {

struct AllReduceArgs {
  const void* send = nullptr;
  void* recv = nullptr;  // == send: in place
  size_t count = 0;      // elements
  reduce::DType dtype = reduce::DType::kF32;
  reduce::ReduceOp op = reduce::ReduceOp::kSum;
  uint64_t tag = 0;
  // On the wire: algo kNone sends the elements as they are; otherwise the
  // ring sends them quantized (quant_ring_op.h).
  quant::QuantConfig quant{quant::QuantAlgo::kNone, quant::WireType::kU8, 0};

  bool quantized() const { return quant.algo != quant::QuantAlgo::kNone; }
};

// kInvalidArgument naming the bad argument: NULL buffers (unless count is 0),
// unknown dtype or op, a byte size that overflows, buffers that overlap
// without being the same, a tag that does not fit a stream id, a quantization
// config that quant::validate() refuses for the dtype.
Status checkAllReduceArgs(const AllReduceArgs& args);

}  // namespace eccl::coll
