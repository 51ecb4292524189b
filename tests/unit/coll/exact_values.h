// Small integers that every dtype holds exactly (f16 and bf16 included), per
// op chosen so that the reduction over any ring of up to 8 peers is exact too,
// and the bytes of such values in any dtype.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "src/reduce/reduce.h"

namespace eccl::test {

// Peer `peer`'s element i for a reduction with `op` among `world` peers.
// Non-negative for min and max (unsigned dtypes compare them as the test does).
int64_t exactValue(reduce::ReduceOp op, size_t i, int peer, int world);
// The reduction of exactValue over the world's peers (before wrapping to the
// dtype: unsigned sums and products wrap like the kernels do).
int64_t exactResult(reduce::ReduceOp op, size_t i, int world);

// Writes v as element i of a buffer of dtype elements.
void storeValue(reduce::DType dtype, std::vector<uint8_t>& buf, size_t i, int64_t v);

// count elements of peer's values (expected: the reduction instead), starting
// at element `first` of the op's index space.
std::vector<uint8_t> exactBuffer(reduce::DType dtype, reduce::ReduceOp op, size_t first,
                                 size_t count, int peer, int world, bool expected);

// XXH3-64 of the bytes: how tests compare what peers hold.
uint64_t bytesHash(const std::vector<uint8_t>& bytes);

}  // namespace eccl::test
