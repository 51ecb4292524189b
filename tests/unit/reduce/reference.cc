#include "tests/unit/reduce/reference.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace eccl::reduce::testing {
namespace {

// Positive finite values in pattern order (they increase with the pattern).
const std::vector<double>& positiveFinite(bool bf16) {
  static const std::vector<double> f16 = [] {
    std::vector<double> v;
    for (uint32_t b = 0; b < 0x7C00; ++b)
      v.push_back(refHalfToDouble(static_cast<uint16_t>(b), false));
    return v;
  }();
  static const std::vector<double> b16 = [] {
    std::vector<double> v;
    for (uint32_t b = 0; b < 0x7F80; ++b)
      v.push_back(refHalfToDouble(static_cast<uint16_t>(b), true));
    return v;
  }();
  return bf16 ? b16 : f16;
}

float canonicalNanF() {
  return std::bit_cast<float>(uint32_t{0x7FC00000});
}
double canonicalNanD() {
  return std::bit_cast<double>(uint64_t{0x7FF8000000000000});
}

template <typename F>
F refFloat(ReduceOp op, F a, F b, F nan) {
  if (op == ReduceOp::kSum || op == ReduceOp::kAvg || op == ReduceOp::kProd) {
    const F r = op == ReduceOp::kProd ? a * b : a + b;
    return std::isnan(r) ? nan : r;
  }
  if (std::isnan(a) || std::isnan(b)) return nan;
  if (a == b) {
    if (a != 0) return a;
    const bool negative = op == ReduceOp::kMin ? (std::signbit(a) || std::signbit(b))
                                               : (std::signbit(a) && std::signbit(b));
    return negative ? -F(0) : F(0);
  }
  return op == ReduceOp::kMin ? std::min(a, b) : std::max(a, b);
}

template <typename T>
uint64_t refInt(ReduceOp op, uint64_t abits, uint64_t bbits) {
  T a, b;
  std::memcpy(&a, &abits, sizeof(T));
  std::memcpy(&b, &bbits, sizeof(T));
  T r;
  switch (op) {
    case ReduceOp::kSum:
    case ReduceOp::kAvg:
      r = static_cast<T>(abits + bbits);  // modulo 2^64, then modulo 2^bits
      break;
    case ReduceOp::kProd:
      r = static_cast<T>(abits * bbits);
      break;
    case ReduceOp::kMin:
      r = std::min(a, b);
      break;
    default:
      r = std::max(a, b);
      break;
  }
  uint64_t out = 0;
  std::memcpy(&out, &r, sizeof(T));
  return out;
}

}  // namespace

double refHalfToDouble(uint16_t bits, bool bf16) {
  const int mant_bits = bf16 ? 7 : 10;
  const int exp_max = bf16 ? 255 : 31;
  const int bias = bf16 ? 127 : 15;
  const bool negative = (bits & 0x8000) != 0;
  const int exp = (bits & 0x7FFF) >> mant_bits;
  const int mant = bits & ((1 << mant_bits) - 1);
  double v;
  if (exp == exp_max) {
    v = mant == 0 ? std::numeric_limits<double>::infinity()
                  : std::numeric_limits<double>::quiet_NaN();
  } else if (exp == 0) {
    v = std::ldexp(static_cast<double>(mant), 1 - bias - mant_bits);
  } else {
    v = std::ldexp(static_cast<double>(mant + (1 << mant_bits)), exp - bias - mant_bits);
  }
  return negative ? -v : v;
}

float refHalfToF32(uint16_t bits, bool bf16) {
  return static_cast<float>(refHalfToDouble(bits, bf16));
}

uint16_t refF32ToHalf(float value, bool bf16) {
  const uint16_t sign = std::signbit(value) ? 0x8000 : 0;
  if (std::isnan(value)) {
    const uint32_t f = std::bit_cast<uint32_t>(value);
    return bf16 ? static_cast<uint16_t>((f >> 16) | 0x40)
                : static_cast<uint16_t>(sign | 0x7E00 | ((f >> 13) & 0x3FF));
  }
  const uint16_t inf = bf16 ? 0x7F80 : 0x7C00;
  const double x = std::fabs(static_cast<double>(value));
  const std::vector<double>& table = positiveFinite(bf16);
  // The value one step past the largest finite one: overflow is judged against it.
  const double beyond = bf16 ? std::ldexp(1.0, 128) : 65536.0;
  if (std::isinf(x)) return sign | inf;
  // Largest pattern with value <= x.
  const auto it = std::upper_bound(table.begin(), table.end(), x);
  const auto lo = static_cast<uint16_t>(it - table.begin() - 1);
  const double lo_value = table[lo];
  const double hi_value = lo + 1u < table.size() ? table[lo + 1u] : beyond;
  const auto hi = static_cast<uint16_t>(lo + 1);  // inf when past the table
  uint16_t pick;
  if (x - lo_value < hi_value - x) {
    pick = lo;
  } else if (x - lo_value > hi_value - x) {
    pick = hi;
  } else {
    pick = (lo & 1) == 0 ? lo : hi;
  }
  return static_cast<uint16_t>(sign | pick);
}

uint64_t refCombine(DType dtype, ReduceOp op, uint64_t a, uint64_t b) {
  switch (dtype) {
    case DType::kI8:
      return refInt<int8_t>(op, a, b);
    case DType::kU8:
      return refInt<uint8_t>(op, a, b);
    case DType::kI16:
      return refInt<int16_t>(op, a, b);
    case DType::kU16:
      return refInt<uint16_t>(op, a, b);
    case DType::kI32:
      return refInt<int32_t>(op, a, b);
    case DType::kU32:
      return refInt<uint32_t>(op, a, b);
    case DType::kI64:
      return refInt<int64_t>(op, a, b);
    case DType::kU64:
      return refInt<uint64_t>(op, a, b);
    case DType::kF32:
      return std::bit_cast<uint32_t>(refFloat(op, std::bit_cast<float>(static_cast<uint32_t>(a)),
                                              std::bit_cast<float>(static_cast<uint32_t>(b)),
                                              canonicalNanF()));
    case DType::kF64:
      return std::bit_cast<uint64_t>(
          refFloat(op, std::bit_cast<double>(a), std::bit_cast<double>(b), canonicalNanD()));
    case DType::kF16:
    case DType::kBF16: {
      const bool bf16 = dtype == DType::kBF16;
      const float r = refFloat(op, refHalfToF32(static_cast<uint16_t>(a), bf16),
                               refHalfToF32(static_cast<uint16_t>(b), bf16), canonicalNanF());
      return refF32ToHalf(r, bf16);
    }
  }
  return 0;
}

}  // namespace eccl::reduce::testing
