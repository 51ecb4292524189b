// The per-ISA tables of quantization kernels. A kernel handles a run of
// elements whose parameters are already known (one block, or a piece of one);
// the block loop, the statistics and the parameters live in baseline code
// (codec.cc, block_plan.cc), so every path shares them by construction.
#pragma once

#include <cstddef>
#include <cstdint>

#include "src/quant/quant.h"

namespace eccl::quant {

// Rows of the tables: the four data dtypes, the three integer wires, the two
// float wires.
constexpr int kNumDataRows = 4;    // f16, bf16, f32, f64
constexpr int kNumIntWires = 3;    // u8, i8, u16
constexpr int kNumFloatWires = 2;  // f16, bf16

constexpr int dataRow(reduce::DType data) {
  switch (data) {
    case reduce::DType::kF16:
      return 0;
    case reduce::DType::kBF16:
      return 1;
    case reduce::DType::kF32:
      return 2;
    default:
      return 3;
  }
}
constexpr bool isIntWire(WireType wire) {
  return wire == WireType::kU8 || wire == WireType::kI8 || wire == WireType::kU16;
}
constexpr int intWireRow(WireType wire) {
  return static_cast<int>(wire);
}
constexpr int floatWireRow(WireType wire) {
  return static_cast<int>(wire) - static_cast<int>(WireType::kF16);
}

// A block's values: min and max (IEEE minimum/maximum, -0 < +0) and whether all
// are finite. min/max are exact (f32 values widen to double exactly) and only
// meaningful when finite.
struct BlockRange {
  double min;
  double max;
  bool finite;
};

// q = clamp(rne((x - sub) * inv) + add, qmin, qmax), in A (sub, inv cast to A
// exactly: they were computed in A).
struct QuantizeParams {
  double sub;
  double inv;
  int32_t add;
};

// dequant = base + (A(q) - off) * scale, NaN made canonical.
struct DequantizeParams {
  double base;
  double off;
  double scale;
};

using RangeFn = BlockRange (*)(const void* src, size_t count);
using QuantizeFn = void (*)(const void* src, size_t count, const QuantizeParams& params, void* out);
using DequantizeFn = void (*)(const void* in, size_t count, const DequantizeParams& params,
                              void* dst);
using ConvertFn = void (*)(const void* in, size_t count, void* out);

struct QuantKernelTable {
  RangeFn range[kNumDataRows];
  QuantizeFn quantize[kNumDataRows][kNumIntWires];
  DequantizeFn dequantize[kNumDataRows][kNumIntWires];
  ConvertFn to_float_wire[kNumDataRows][kNumFloatWires];
  ConvertFn from_float_wire[kNumDataRows][kNumFloatWires];
};

// Always available; also finishes the tails of the vector kernels.
const QuantKernelTable& scalarQuantKernels();
#if defined(ECCL_QUANT_X86_SIMD)
// Call only when reduce::bestSupportedIsa() has the instructions.
const QuantKernelTable& avx2QuantKernels();
const QuantKernelTable& avx512QuantKernels();
#endif

}  // namespace eccl::quant
