// One element of each dtype combined with one op: the scalar reference that
// defines the results of every path. Loads and stores go through memcpy, so
// any pointer alignment is fine.
//
// Not for the vector translation units: an inline function compiled there with
// AVX flags could be the copy the linker keeps for baseline callers.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>

#include "src/common/unaligned.h"
#include "src/reduce/half.h"
#include "src/reduce/reduce.h"

namespace eccl::reduce::scalar {

using unaligned::load;
using unaligned::store;

// Integers: sum and product in an unsigned type at least as wide as int, so
// that they wrap instead of overflowing (u16 * u16 would promote to int).
template <ReduceOp Op, typename T>
T combineInt(T a, T b) {
  using W = std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;
  if constexpr (Op == ReduceOp::kSum || Op == ReduceOp::kAvg) {
    return static_cast<T>(static_cast<W>(static_cast<W>(a) + static_cast<W>(b)));
  } else if constexpr (Op == ReduceOp::kProd) {
    return static_cast<T>(static_cast<W>(static_cast<W>(a) * static_cast<W>(b)));
  } else if constexpr (Op == ReduceOp::kMin) {
    return b < a ? b : a;
  } else {
    return a < b ? b : a;
  }
}

// The one NaN every float op returns (positive, quiet, no payload), so that the
// result does not depend on which operand's NaN the hardware would pass on.
template <typename F>
F canonicalNan() {
  if constexpr (sizeof(F) == 4) {
    return std::bit_cast<F>(uint32_t{0x7FC00000u});
  } else {
    return std::bit_cast<F>(uint64_t{0x7FF8000000000000u});
  }
}

// Floats (see reduce.h): NaN in, canonical NaN out; min(-0, +0) is -0 and
// max(-0, +0) is +0, so every op is commutative bit for bit.
template <ReduceOp Op, typename F>
F combineFloat(F a, F b) {
  using Bits = std::conditional_t<sizeof(F) == 4, uint32_t, uint64_t>;
  F r;
  if constexpr (Op == ReduceOp::kSum || Op == ReduceOp::kAvg) {
    r = a + b;
  } else if constexpr (Op == ReduceOp::kProd) {
    r = a * b;
  } else {
    if (a != a || b != b) return canonicalNan<F>();
    if (a < b) return Op == ReduceOp::kMin ? a : b;
    if (b < a) return Op == ReduceOp::kMin ? b : a;
    // Equal: only the signs of zeros can differ. OR picks -0, AND picks +0.
    const Bits ab = std::bit_cast<Bits>(a), bb = std::bit_cast<Bits>(b);
    return std::bit_cast<F>(Op == ReduceOp::kMin ? Bits(ab | bb) : Bits(ab & bb));
  }
  return r != r ? canonicalNan<F>() : r;
}

// Storage type and element combine for each dtype.
template <DType D>
struct Elem;

#define ECCL_REDUCE_INT_ELEM(dtype, type)          \
  template <>                                      \
  struct Elem<dtype> {                             \
    using Storage = type;                          \
    template <ReduceOp Op>                         \
    static Storage combine(Storage a, Storage b) { \
      return combineInt<Op>(a, b);                 \
    }                                              \
  }
ECCL_REDUCE_INT_ELEM(DType::kI8, int8_t);
ECCL_REDUCE_INT_ELEM(DType::kU8, uint8_t);
ECCL_REDUCE_INT_ELEM(DType::kI16, int16_t);
ECCL_REDUCE_INT_ELEM(DType::kU16, uint16_t);
ECCL_REDUCE_INT_ELEM(DType::kI32, int32_t);
ECCL_REDUCE_INT_ELEM(DType::kU32, uint32_t);
ECCL_REDUCE_INT_ELEM(DType::kI64, int64_t);
ECCL_REDUCE_INT_ELEM(DType::kU64, uint64_t);
#undef ECCL_REDUCE_INT_ELEM

template <>
struct Elem<DType::kF32> {
  using Storage = float;
  template <ReduceOp Op>
  static Storage combine(Storage a, Storage b) {
    return combineFloat<Op>(a, b);
  }
};

template <>
struct Elem<DType::kF64> {
  using Storage = double;
  template <ReduceOp Op>
  static Storage combine(Storage a, Storage b) {
    return combineFloat<Op>(a, b);
  }
};

template <>
struct Elem<DType::kF16> {
  using Storage = uint16_t;
  template <ReduceOp Op>
  static Storage combine(Storage a, Storage b) {
    return f32ToF16(combineFloat<Op>(f16ToF32(a), f16ToF32(b)));
  }
};

template <>
struct Elem<DType::kBF16> {
  using Storage = uint16_t;
  template <ReduceOp Op>
  static Storage combine(Storage a, Storage b) {
    return f32ToBf16(combineFloat<Op>(bf16ToF32(a), bf16ToF32(b)));
  }
};

}  // namespace eccl::reduce::scalar
