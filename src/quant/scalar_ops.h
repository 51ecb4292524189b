// One element at a time: the scalar reference of every quantization formula
// in quant.h. Loads and stores go through memcpy (no alignment needed).
//
// Not for the vector translation units: an inline function compiled there with
// AVX flags could be the copy the linker keeps for baseline callers.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>

#include "src/common/unaligned.h"
#include "src/quant/wire_traits.h"
#include "src/reduce/half.h"

namespace eccl::quant::scalar {

using unaligned::load;
using unaligned::store;

template <typename A>
A canonicalNan() {
  if constexpr (sizeof(A) == 4) {
    return std::bit_cast<A>(uint32_t{0x7FC00000u});
  } else {
    return std::bit_cast<A>(uint64_t{0x7FF8000000000000u});
  }
}

// IEEE 754-2019 minimum/maximum for non-NaN operands: -0 < +0.
template <typename A>
A ieeeMin(A a, A b) {
  if (a != b) return b < a ? b : a;
  return std::signbit(b) ? b : a;
}
template <typename A>
A ieeeMax(A a, A b) {
  if (a != b) return a < b ? b : a;
  return std::signbit(b) ? a : b;
}

// Element i of data dtype D, widened exactly to A.
template <reduce::DType D>
typename DataType<D>::Acc loadAcc(const void* src, size_t i) {
  if constexpr (D == reduce::DType::kF16) {
    return reduce::f16ToF32(load<uint16_t>(src, i));
  } else if constexpr (D == reduce::DType::kBF16) {
    return reduce::bf16ToF32(load<uint16_t>(src, i));
  } else {
    return load<typename DataType<D>::Storage>(src, i);
  }
}

// A value of A rounded to data dtype D (nearest even), NaN made canonical first.
template <reduce::DType D>
void storeAcc(void* dst, size_t i, typename DataType<D>::Acc v) {
  using A = typename DataType<D>::Acc;
  if (v != v) v = canonicalNan<A>();
  if constexpr (D == reduce::DType::kF16) {
    store<uint16_t>(dst, i, reduce::f32ToF16(v));
  } else if constexpr (D == reduce::DType::kBF16) {
    store<uint16_t>(dst, i, reduce::f32ToBf16(v));
  } else {
    store<A>(dst, i, v);
  }
}

// q = clamp(rne((x - sub) * inv) + add, qmin, qmax). nearbyint rounds in the
// default mode, nearest even, like CVTPS2DQ.
template <WireType W, typename A>
typename IntWire<W>::type quantizeOne(A x, A sub, A inv, int32_t add) {
  const A r = std::nearbyint((x - sub) * inv);
  int32_t q = static_cast<int32_t>(r) + add;
  if (q < IntWire<W>::kMin) q = IntWire<W>::kMin;
  if (q > IntWire<W>::kMax) q = IntWire<W>::kMax;
  return static_cast<typename IntWire<W>::type>(q);
}

template <typename A>
A dequantizeOne(int32_t q, A base, A off, A scale) {
  return base + (static_cast<A>(q) - off) * scale;
}

}  // namespace eccl::quant::scalar
