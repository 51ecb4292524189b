// Vector kernels written once over GCC/Clang vector extensions and compiled by
// each per-ISA translation unit with its own flags and vector width. Every
// combine mirrors scalar_ops.h exactly; the last count % width elements go to
// the scalar kernel itself, so tails cannot disagree.
//
// Include only from kernels_<isa>.cc. Everything here has internal linkage on
// purpose: an inline function with external linkage compiled with AVX flags
// could be the copy the linker keeps for baseline callers.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "src/common/vector_ext.h"
#include "src/reduce/kernel_table.h"

namespace eccl::reduce {
namespace {  // NOLINT(google-build-namespaces): see the file comment

using vector_ext::loadVec;
using vector_ext::storeVec;
using vector_ext::Vec;

template <typename T>
using SameSizeInt =
    std::conditional_t<sizeof(T) == 1, int8_t,
                       std::conditional_t<sizeof(T) == 2, int16_t,
                                          std::conditional_t<sizeof(T) == 4, int32_t, int64_t>>>;

// Integers: sum and product in unsigned lanes (wrap), min/max in T's signedness.
template <ReduceOp Op, typename T, size_t B>
inline Vec<T, B> combineInt(Vec<T, B> a, Vec<T, B> b) {
  using U = Vec<std::make_unsigned_t<T>, B>;
  if constexpr (Op == ReduceOp::kSum || Op == ReduceOp::kAvg) {
    return (Vec<T, B>)((U)a + (U)b);
  } else if constexpr (Op == ReduceOp::kProd) {
    return (Vec<T, B>)((U)a * (U)b);
  } else if constexpr (Op == ReduceOp::kMin) {
    return b < a ? b : a;
  } else {
    return a < b ? b : a;
  }
}

// Floats: as scalar::combineFloat, lane by lane, without branches.
template <ReduceOp Op, typename F, size_t B>
inline Vec<F, B> combineFloat(Vec<F, B> a, Vec<F, B> b) {
  using V = Vec<F, B>;
  using I = Vec<SameSizeInt<F>, B>;
  constexpr SameSizeInt<F> kNanBits =
      sizeof(F) == 4 ? SameSizeInt<F>(0x7FC00000) : SameSizeInt<F>(0x7FF8000000000000);
  const V nan = (V)(I{} + kNanBits);
  if constexpr (Op == ReduceOp::kSum || Op == ReduceOp::kAvg) {
    const V r = a + b;
    return r != r ? nan : r;
  } else if constexpr (Op == ReduceOp::kProd) {
    const V r = a * b;
    return r != r ? nan : r;
  } else {
    // Equal lanes differ at most in the sign of zero: OR gives -0, AND +0.
    const V tie = Op == ReduceOp::kMin ? (V)((I)a | (I)b) : (V)((I)a & (I)b);
    const V if_a_less = Op == ReduceOp::kMin ? a : b;
    const V if_b_less = Op == ReduceOp::kMin ? b : a;
    const V r = a < b ? if_a_less : (b < a ? if_b_less : tie);
    return ((a != a) | (b != b)) ? nan : r;
  }
}

// As f32ToBf16 (round to nearest even), for combineFloat's results: their only
// NaN is the canonical one, which this rounding leaves as the canonical bf16 NaN,
// so the NaN case f32ToBf16 needs for arbitrary payloads never arises here.
template <size_t B>
inline Vec<uint32_t, B> roundToBf16High(Vec<float, B> f) {
  using U = Vec<uint32_t, B>;
  const U x = (U)f;
  return (x + 0x7FFFu + ((x >> 16) & 1u)) & 0xFFFF0000u;
}

// bf16 without shuffles: a B-byte vector of pairs holds the even elements in
// the low halves of its 32-bit lanes and the odd ones in the high halves. Each
// half becomes an f32 vector in place, and rounding puts it back in place.
template <ReduceOp Op, size_t B>
inline void combineBf16Pairs(unsigned char* acc, const unsigned char* in) {
  using U = Vec<uint32_t, B>;
  using F = Vec<float, B>;
  const U a = loadVec<U>(acc);
  const U b = loadVec<U>(in);
  const F even = combineFloat<Op, float, B>((F)(a << 16), (F)(b << 16));
  const F odd = combineFloat<Op, float, B>((F)(a & 0xFFFF0000u), (F)(b & 0xFFFF0000u));
  storeVec(acc, (roundToBf16High<B>(even) >> 16) | roundToBf16High<B>(odd));
}

template <DType D>
struct StorageOf;
template <>
struct StorageOf<DType::kI8> {
  using type = int8_t;
};
template <>
struct StorageOf<DType::kU8> {
  using type = uint8_t;
};
template <>
struct StorageOf<DType::kI16> {
  using type = int16_t;
};
template <>
struct StorageOf<DType::kU16> {
  using type = uint16_t;
};
template <>
struct StorageOf<DType::kI32> {
  using type = int32_t;
};
template <>
struct StorageOf<DType::kU32> {
  using type = uint32_t;
};
template <>
struct StorageOf<DType::kI64> {
  using type = int64_t;
};
template <>
struct StorageOf<DType::kU64> {
  using type = uint64_t;
};
template <>
struct StorageOf<DType::kF16> {
  using type = uint16_t;
};
template <>
struct StorageOf<DType::kBF16> {
  using type = uint16_t;
};
template <>
struct StorageOf<DType::kF32> {
  using type = float;
};
template <>
struct StorageOf<DType::kF64> {
  using type = double;
};

// One vector's worth of elements: Isa::kBytes of computation (f16 widens to
// f32, so its step covers half as many storage bytes; bf16 covers B bytes in two
// f32 vectors).
template <class Isa, DType D, ReduceOp Op>
struct Step {
  static constexpr size_t B = Isa::kBytes;
  using T = typename StorageOf<D>::type;
  static constexpr size_t kElems = D == DType::kF16 ? B / 4 : B / sizeof(T);

  static void apply(unsigned char* acc, const unsigned char* in) {
    if constexpr (D == DType::kF16) {
      Isa::narrowF16(acc, combineFloat<Op, float, B>(Isa::widenF16(acc), Isa::widenF16(in)));
    } else if constexpr (D == DType::kBF16) {
      combineBf16Pairs<Op, B>(acc, in);
    } else if constexpr (std::is_floating_point_v<T>) {
      using V = Vec<T, B>;
      storeVec(acc, combineFloat<Op, T, B>(loadVec<V>(acc), loadVec<V>(in)));
    } else {
      using V = Vec<T, B>;
      storeVec(acc, combineInt<Op, T, B>(loadVec<V>(acc), loadVec<V>(in)));
    }
  }
};

template <class Isa>
struct SimdKernels {
  template <DType D, ReduceOp Op>
  struct Kernel {
    static void run(void* acc_ptr, const void* in_ptr, size_t count) {
      using S = Step<Isa, D, Op>;
      constexpr size_t kStride = S::kElems * sizeof(typename S::T);
      auto* acc = static_cast<unsigned char*>(acc_ptr);
      const auto* in = static_cast<const unsigned char*>(in_ptr);
      size_t i = 0;
      // Four independent vectors per iteration keep the loads in flight.
      for (; i + 4 * S::kElems <= count; i += 4 * S::kElems) {
        S::apply(acc, in);
        S::apply(acc + kStride, in + kStride);
        S::apply(acc + 2 * kStride, in + 2 * kStride);
        S::apply(acc + 3 * kStride, in + 3 * kStride);
        acc += 4 * kStride;
        in += 4 * kStride;
      }
      for (; i + S::kElems <= count; i += S::kElems) {
        S::apply(acc, in);
        acc += kStride;
        in += kStride;
      }
      if (i < count) scalarKernels().get(D, Op)(acc, in, count - i);
    }
  };
};

}  // namespace
}  // namespace eccl::reduce
