#include "src/quant/block_plan.h"

#include <cmath>

#include "src/quant/scalar_ops.h"
#include "src/quant/wire_traits.h"

namespace eccl::quant {
namespace {

struct Levels {
  int32_t qmin;
  int32_t qmax;
};

Levels levelsOf(WireType wire) {
  switch (wire) {
    case WireType::kI8:
      return {IntWire<WireType::kI8>::kMin, IntWire<WireType::kI8>::kMax};
    case WireType::kU16:
      return {IntWire<WireType::kU16>::kMin, IntWire<WireType::kU16>::kMax};
    default:
      return {IntWire<WireType::kU8>::kMin, IntWire<WireType::kU8>::kMax};
  }
}

template <typename A>
BlockPlan plan(QuantAlgo algo, WireType wire, const BlockRange& block) {
  const A nan = scalar::canonicalNan<A>();
  const BlockPlan non_finite{true, {nan, nan}, {0, 0, 0}};
  if (!block.finite) return non_finite;
  const Levels lv = levelsOf(wire);
  const bool zero_point = algo == QuantAlgo::kZeroPointScale;
  A mn = static_cast<A>(block.min), mx = static_cast<A>(block.max);
  if (zero_point) {  // zero must be a level (and the zero point in range)
    mn = scalar::ieeeMin(mn, A(0));
    mx = scalar::ieeeMax(mx, A(0));
  }
  const A range = mx - mn;
  if (!std::isfinite(range)) return non_finite;
  if (range < kDegenerateRange<A>) {
    if (zero_point) return {false, {0, 0}, {0, 0, 0}};
    return {false, {0, mn}, {mn, 0, lv.qmin}};
  }
  const auto levels = static_cast<A>(lv.qmax - lv.qmin);
  const A scale = range / levels;
  const A inv = levels / range;
  if (!zero_point) return {false, {scale, mn}, {mn, inv, lv.qmin}};
  // -mn * inv is in [0, levels (1 + 2u)]: the conversion cannot overflow.
  int32_t zp = lv.qmin + static_cast<int32_t>(std::nearbyint(-mn * inv));
  if (zp > lv.qmax) zp = lv.qmax;
  return {false, {scale, static_cast<A>(zp)}, {0, inv, zp}};
}

}  // namespace

BlockPlan planBlock(QuantAlgo algo, WireType wire, bool accumulation_is_f64,
                    const BlockRange& range) {
  return accumulation_is_f64 ? plan<double>(algo, wire, range) : plan<float>(algo, wire, range);
}

DequantizeParams dequantizeParams(QuantAlgo algo, WireType wire, const BlockRecord& record) {
  if (algo == QuantAlgo::kZeroPointScale) return {0, record.offset, record.scale};
  return {record.offset, static_cast<double>(levelsOf(wire).qmin), record.scale};
}

}  // namespace eccl::quant
