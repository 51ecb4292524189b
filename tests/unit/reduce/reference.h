// An independent reference for the reduction kernels: f16/bf16 decoded with
// ldexp and rounded by searching the table of representable values, and the
// documented combine rules written out plainly.
#pragma once

#include <cstdint>
#include <vector>

#include "src/reduce/reduce.h"

namespace eccl::reduce::testing {

// f16 / bf16 bits -> value, through double arithmetic.
double refHalfToDouble(uint16_t bits, bool bf16);
float refHalfToF32(uint16_t bits, bool bf16);
// Round a float to the nearest f16 / bf16, ties to the even pattern; overflow
// to infinity at the IEEE threshold; NaN -> the quiet NaN with the same sign and
// top payload bits.
uint16_t refF32ToHalf(float value, bool bf16);

// acc[i] (op) in[i] for one element of dtype, as reduce.h documents it.
// Elements are passed as raw bits in the low bytes of a uint64_t.
uint64_t refCombine(DType dtype, ReduceOp op, uint64_t a, uint64_t b);

}  // namespace eccl::reduce::testing
