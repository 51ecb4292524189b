// CheckFree: rebuilding a lost pipeline stage's weights from its neighbours.
//
// When every peer of stage s is gone, its weights are recomputed from the
// weights of stages s-1 (prev) and s+1 (next), weighted by those stages'
// reported gradient norms. Defined exactly, so that any reference reproduces
// it bit for bit:
//
//   T        = float for f32, f16 and bf16; double for f64
//   w_prev   = T(prev_norm + epsilon)   (the sum in double, then rounded to T)
//   w_next   = T(next_norm + epsilon)
//   out[i]   = (w_next * next[i] + w_prev * prev[i]) / (w_next + w_prev)
//
// evaluated in T in that order, with no fused multiply-add (the library is
// built with -ffp-contract=off). f16/bf16 elements are widened to f32 exactly
// and the f32 result is rounded back to nearest, ties to even
// (reduce::f32ToF16 / f32ToBf16). A NaN result is the canonical quiet NaN
// (f32 0x7FC00000, f64 0x7FF8000000000000, f16 0x7E00, bf16 0x7FC0), as in
// src/reduce: hardware passes on one operand's payload, and which one depends
// on an operand order the compiler may swap. Infinities follow IEEE
// arithmetic (e.g. +Inf in prev gives +Inf, +Inf in prev and -Inf in next NaN).
//
// With one neighbour (the first or last stage; CheckFree+) out is a byte copy
// of it: norms and epsilon are validated but do not enter the result.
#pragma once

#include <cstddef>

#include "src/common/status.h"
#include "src/reduce/reduce.h"

namespace eccl::checkfree {

// Keeps a weight positive when a neighbour's gradient norm is 0.
constexpr double kDefaultEpsilon = 1e-6;

// Writes count elements of dtype (f32, f64, f16 or bf16) to out, as above.
// prev or next (not both) may be null: the stage at an end of the pipeline.
// out may be exactly prev or next (in place); any other overlap of out with a
// neighbour is refused, as its elements would be read after being written.
//
// InvalidArgument: both neighbours null; a null out with count > 0; a norm or
// epsilon negative, NaN or infinite; with two neighbours, a weight that is
// not finite in T or weights summing to 0 in T; an integer or unknown dtype;
// count * element size overflowing size_t; out partially overlapping a
// neighbour. out is untouched on error.
Status recoverStage(const void* prev, double prev_norm, const void* next, double next_norm,
                    void* out, size_t count, reduce::DType dtype, double epsilon);

}  // namespace eccl::checkfree
