// The element-wise arithmetic of DiLoCo's outer loop (outer_loop.h) on f32 or
// bf16 buffers: every value is computed in f32 in the same order on every ISA
// path (no FMA contraction: -ffp-contract=off), so peers on different CPUs
// keep bit-identical outer parameters.
#pragma once

#include <cstddef>

#include "src/reduce/reduce.h"

namespace eccl::diloco {

struct OuterKernels {
  // delta = start - current; then start = current (the progress is now packed).
  void (*pack)(void* start, const void* current, void* delta, size_t n);
  // Nesterov momentum on the average g = sum / weight (torch.optim.SGD's form):
  // m = mu * m + g; global = global - lr * (g + mu * m).
  void (*nesterov)(void* global, void* momentum, const void* sum, float weight, float lr, float mu,
                   size_t n);
  // Moves the local copy onto a new global: drift = start - current (progress
  // not yet packed); start = global - carried (carried: packed progress not
  // yet applied, null for none); current = start - drift.
  void (*rebase)(const void* global, const void* carried, void* start, void* current, size_t n);
};

// kF32 or kBf16 only.
bool isOuterDType(reduce::DType dtype);

// The kernels of the ISA path reduce::activeIsa() names (ECCL_ISA applies).
const OuterKernels& outerKernels(reduce::DType dtype);
// One path's kernels (tests compare the paths); isa must be supported here.
const OuterKernels& outerKernels(reduce::DType dtype, reduce::Isa isa);

namespace detail {
// The per-ISA tables, [0] f32 and [1] bf16 (outer_kernels_*.cc).
const OuterKernels* scalarOuterKernels();
#if defined(ECCL_DILOCO_X86_SIMD)
const OuterKernels* avx2OuterKernels();
const OuterKernels* avx512OuterKernels();
#endif
}  // namespace detail

}  // namespace eccl::diloco
