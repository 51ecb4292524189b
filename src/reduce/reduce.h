// Element-wise reduction kernels: the arithmetic of every collective.
//
// Every instruction-set path (scalar, AVX2, AVX-512) gives the same bits for
// the same input: the library is compiled with -ffp-contract=off (no fused
// multiply-add), and f16/bf16 elements are widened to f32, combined, and
// rounded back to nearest-even one element at a time.
#pragma once

#include <cstddef>
#include <cstdint>

#include "src/common/status.h"

namespace eccl::reduce {

enum class DType : uint8_t {
  kI8 = 0,
  kU8 = 1,
  kI16 = 2,
  kU16 = 3,
  kI32 = 4,
  kU32 = 5,
  kI64 = 6,
  kU64 = 7,
  kF16 = 8,
  kBF16 = 9,
  kF32 = 10,
  kF64 = 11,
};
constexpr int kNumDTypes = 12;

enum class ReduceOp : uint8_t { kSum = 0, kAvg = 1, kProd = 2, kMin = 3, kMax = 4 };
constexpr int kNumReduceOps = 5;

enum class Isa : uint8_t { kScalar = 0, kAvx2 = 1, kAvx512 = 2 };

bool isValid(DType dtype);
bool isValid(ReduceOp op);
size_t dtypeSize(DType dtype);       // bytes per element
const char* dtypeName(DType dtype);  // "f32", "bf16", ...
const char* opName(ReduceOp op);     // "sum", "avg", ...
const char* isaName(Isa isa);        // "scalar", "avx2", "avx512"

// acc[i] = acc[i] (op) in[i] for i < count. kAvg combines like kSum; the caller
// divides once at the end with finishAverage. Integer sums and products wrap
// (two's complement, like unsigned arithmetic), never UB. acc and in may not
// overlap partially (identical pointers are fine), and need no alignment.
//
// Floats (f16/bf16 through f32) on every path:
//  - A NaN result is always the canonical quiet NaN (f32 0x7FC00000, f64
//    0x7FF8000000000000, f16 0x7E00, bf16 0x7FC0), whatever the inputs' NaN
//    payloads: hardware would pass on one operand's payload, and which one
//    depends on operand order the compiler is free to swap.
//  - min/max: if either operand is NaN the result is NaN (above); otherwise
//    min(-0, +0) = -0 and max(-0, +0) = +0 (as IEEE 754-2019 minimum/maximum).
//    So every op is commutative bit for bit.
void reduceInto(void* acc, const void* in, size_t count, DType dtype, ReduceOp op);

// data[i] /= peers, for the average: integers divide truncating toward zero,
// f16/bf16 through f32.
void finishAverage(void* data, size_t count, DType dtype, uint32_t peers);

// The path in use: the best the CPU has, unless ECCL_ISA (scalar|avx2|avx512)
// asks for a lower one. Asking for a path the CPU lacks is an error at
// setIsa() and a warning (then the best path) from the environment.
Isa activeIsa();
Isa bestSupportedIsa();
// Tests and benchmarks: switch paths in one process. Not thread-safe with
// reductions running at the same time.
Status setIsa(Isa isa);

}  // namespace eccl::reduce
