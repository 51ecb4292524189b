// Vector kernels for f32 data, written once over GCC/Clang vector extensions
// and compiled by each per-ISA translation unit with its own flags and width.
// Each mirrors scalar_ops.h operation for operation (no FMA: -ffp-contract=off;
// rounding to int by CVTPS2DQ in the default nearest-even mode, as nearbyint);
// the last count % width elements go to the scalar kernel itself. Integer
// widening and narrowing are ISA hooks: GCC 12 turns __builtin_convertvector
// between 8-byte and 32-byte vectors into element-by-element moves.
//
// Include only from kernels_<isa>.cc. Everything here has internal linkage on
// purpose: an inline function with external linkage compiled with AVX flags
// could be the copy the linker keeps for baseline callers.
#pragma once

#include <climits>
#include <cstddef>
#include <cstdint>

#include "src/common/vector_ext.h"
#include "src/quant/kernel_table.h"
#include "src/quant/wire_traits.h"

namespace eccl::quant {
namespace {  // NOLINT(google-build-namespaces): see the file comment

using vector_ext::loadVec;
using vector_ext::storeVec;
using vector_ext::Vec;

// Float bits as a signed integer whose order is the IEEE total order: -0 < +0,
// and NaNs beyond the infinities (negative NaNs below -Inf). The map is its own
// inverse.
constexpr int32_t kKeyPlusInf = 0x7F800000;
constexpr int32_t kKeyMinusInf = static_cast<int32_t>(0xFF800000u ^ 0x7FFFFFFFu);

inline int32_t orderKey(int32_t bits) {
  return bits ^ ((bits >> 31) & 0x7FFFFFFF);
}

template <class Isa>
struct F32Kernels {
  static constexpr size_t B = Isa::kBytes;
  static constexpr size_t kLanes = B / 4;
  using VF = Vec<float, B>;
  using VI = Vec<int32_t, B>;
  using VU = Vec<uint32_t, B>;
  using VH = Vec<uint16_t, B / 2>;  // kLanes halves
  static constexpr int kRow = dataRow(reduce::DType::kF32);

  static VF canonical(VF y) {
    const VF nan = (VF)(VI{} + 0x7FC00000);
    return y != y ? nan : y;
  }

  static BlockRange range(const void* src, size_t count) {
    const auto* p = static_cast<const unsigned char*>(src);
    VI lo_v = VI{} + INT32_MAX, hi_v = VI{} + INT32_MIN;
    size_t i = 0;
    for (; i + kLanes <= count; i += kLanes) {
      const VI bits = loadVec<VI>(p + 4 * i);
      const VI key = bits ^ ((bits >> 31) & 0x7FFFFFFF);
      lo_v = key < lo_v ? key : lo_v;
      hi_v = key > hi_v ? key : hi_v;
    }
    int32_t lo = INT32_MAX, hi = INT32_MIN;
    for (size_t l = 0; l < kLanes; ++l) {
      lo = lo_v[l] < lo ? lo_v[l] : lo;
      hi = hi_v[l] > hi ? hi_v[l] : hi;
    }
    for (; i < count; ++i) {
      int32_t bits;
      __builtin_memcpy(&bits, p + 4 * i, 4);
      const int32_t key = orderKey(bits);
      lo = key < lo ? key : lo;
      hi = key > hi ? key : hi;
    }
    float mn, mx;
    const int32_t mn_bits = orderKey(lo), mx_bits = orderKey(hi);
    __builtin_memcpy(&mn, &mn_bits, 4);
    __builtin_memcpy(&mx, &mx_bits, 4);
    return {mn, mx, lo > kKeyMinusInf && hi < kKeyPlusInf};
  }

  template <WireType W>
  static void quantize(const void* src, size_t count, const QuantizeParams& params, void* out) {
    using Q = typename IntWire<W>::type;
    const auto* in = static_cast<const unsigned char*>(src);
    auto* q = static_cast<unsigned char*>(out);
    const VF sub = VF{} + static_cast<float>(params.sub);
    const VF inv = VF{} + static_cast<float>(params.inv);
    const VI add = VI{} + params.add;
    const VI qmin = VI{} + IntWire<W>::kMin, qmax = VI{} + IntWire<W>::kMax;
    size_t i = 0;
    for (; i + kLanes <= count; i += kLanes) {
      VI r = Isa::roundToInt((loadVec<VF>(in + 4 * i) - sub) * inv) + add;
      r = r < qmin ? qmin : r;
      r = r > qmax ? qmax : r;
      Isa::template narrow<W>(q + i * sizeof(Q), r);
    }
    if (i < count) {
      scalarQuantKernels().quantize[kRow][intWireRow(W)](in + 4 * i, count - i, params,
                                                         q + i * sizeof(Q));
    }
  }

  template <WireType W>
  static void dequantize(const void* src, size_t count, const DequantizeParams& params, void* dst) {
    using Q = typename IntWire<W>::type;
    const auto* q = static_cast<const unsigned char*>(src);
    auto* out = static_cast<unsigned char*>(dst);
    const VF base = VF{} + static_cast<float>(params.base);
    const VF off = VF{} + static_cast<float>(params.off);
    const VF scale = VF{} + static_cast<float>(params.scale);
    size_t i = 0;
    for (; i + kLanes <= count; i += kLanes) {
      const VF qf = __builtin_convertvector(Isa::template widen<W>(q + i * sizeof(Q)), VF);
      storeVec(out + 4 * i, canonical(base + (qf - off) * scale));
    }
    if (i < count) {
      scalarQuantKernels().dequantize[kRow][intWireRow(W)](q + i * sizeof(Q), count - i, params,
                                                           out + 4 * i);
    }
  }

  // A NaN becomes the canonical f32 NaN first, which both conversions turn
  // into the wire's canonical NaN (0x7E00, 0x7FC0).
  template <WireType W>
  static VH toHalf(VF f) {
    if constexpr (W == WireType::kF16) {
      return Isa::toF16(f);
    } else {
      const VU x = (VU)f;
      return __builtin_convertvector((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16, VH);
    }
  }

  template <WireType W>
  static VF fromHalf(VH h) {
    if constexpr (W == WireType::kF16) {
      return Isa::fromF16(h);
    } else {
      return (VF)(__builtin_convertvector(h, VU) << 16);
    }
  }

  template <WireType W>
  static void toFloatWire(const void* src, size_t count, void* dst) {
    const auto* in = static_cast<const unsigned char*>(src);
    auto* out = static_cast<unsigned char*>(dst);
    size_t i = 0;
    for (; i + kLanes <= count; i += kLanes) {
      storeVec(out + 2 * i, toHalf<W>(canonical(loadVec<VF>(in + 4 * i))));
    }
    if (i < count) {
      scalarQuantKernels().to_float_wire[kRow][floatWireRow(W)](in + 4 * i, count - i, out + 2 * i);
    }
  }

  template <WireType W>
  static void fromFloatWire(const void* src, size_t count, void* dst) {
    const auto* in = static_cast<const unsigned char*>(src);
    auto* out = static_cast<unsigned char*>(dst);
    size_t i = 0;
    for (; i + kLanes <= count; i += kLanes) {
      storeVec(out + 4 * i, canonical(fromHalf<W>(loadVec<VH>(in + 2 * i))));
    }
    if (i < count) {
      scalarQuantKernels().from_float_wire[kRow][floatWireRow(W)](in + 2 * i, count - i,
                                                                  out + 4 * i);
    }
  }

  // The scalar table with the f32 row replaced.
  static QuantKernelTable table() {
    QuantKernelTable t = scalarQuantKernels();
    t.range[kRow] = &range;
    t.quantize[kRow][0] = &quantize<WireType::kU8>;
    t.quantize[kRow][1] = &quantize<WireType::kI8>;
    t.quantize[kRow][2] = &quantize<WireType::kU16>;
    t.dequantize[kRow][0] = &dequantize<WireType::kU8>;
    t.dequantize[kRow][1] = &dequantize<WireType::kI8>;
    t.dequantize[kRow][2] = &dequantize<WireType::kU16>;
    t.to_float_wire[kRow][0] = &toFloatWire<WireType::kF16>;
    t.to_float_wire[kRow][1] = &toFloatWire<WireType::kBF16>;
    t.from_float_wire[kRow][0] = &fromFloatWire<WireType::kF16>;
    t.from_float_wire[kRow][1] = &fromFloatWire<WireType::kBF16>;
    return t;
  }
};

}  // namespace
}  // namespace eccl::quant
