// The scalar path: the reference for the vector paths and their tail loop.
#include <cmath>
#include <cstddef>
#include <utility>

#include "src/quant/kernel_table.h"
#include "src/quant/scalar_ops.h"

namespace eccl::quant {
namespace {

using reduce::DType;

// count >= 1.
template <DType D>
BlockRange rangeOf(const void* src, size_t count) {
  using A = typename DataType<D>::Acc;
  A mn = scalar::loadAcc<D>(src, 0), mx = mn;
  bool finite = true;
  for (size_t i = 0; i < count; ++i) {
    const A x = scalar::loadAcc<D>(src, i);
    finite = finite && std::isfinite(x);
    mn = scalar::ieeeMin(mn, x);
    mx = scalar::ieeeMax(mx, x);
  }
  return {mn, mx, finite};
}

template <DType D, WireType W>
void quantize(const void* src, size_t count, const QuantizeParams& params, void* out) {
  using A = typename DataType<D>::Acc;
  const auto sub = static_cast<A>(params.sub), inv = static_cast<A>(params.inv);
  for (size_t i = 0; i < count; ++i) {
    scalar::store(out, i, scalar::quantizeOne<W>(scalar::loadAcc<D>(src, i), sub, inv, params.add));
  }
}

template <DType D, WireType W>
void dequantize(const void* in, size_t count, const DequantizeParams& params, void* dst) {
  using A = typename DataType<D>::Acc;
  using Q = typename IntWire<W>::type;
  const auto base = static_cast<A>(params.base), off = static_cast<A>(params.off),
             scale = static_cast<A>(params.scale);
  for (size_t i = 0; i < count; ++i) {
    const int32_t q = scalar::load<Q>(in, i);
    scalar::storeAcc<D>(dst, i, scalar::dequantizeOne(q, base, off, scale));
  }
}

// Data -> f32 (exact, or nearest even from f64) -> wire, NaN as the wire's
// canonical NaN.
template <DType D, WireType W>
void toFloatWire(const void* src, size_t count, void* out) {
  for (size_t i = 0; i < count; ++i) {
    const auto f = static_cast<float>(scalar::loadAcc<D>(src, i));
    uint16_t h;
    if (f != f) {
      h = W == WireType::kF16 ? uint16_t{0x7E00} : uint16_t{0x7FC0};
    } else {
      h = W == WireType::kF16 ? reduce::f32ToF16(f) : reduce::f32ToBf16(f);
    }
    scalar::store(out, i, h);
  }
}

template <DType D, WireType W>
void fromFloatWire(const void* in, size_t count, void* dst) {
  using A = typename DataType<D>::Acc;
  for (size_t i = 0; i < count; ++i) {
    const uint16_t h = scalar::load<uint16_t>(in, i);
    const float f = W == WireType::kF16 ? reduce::f16ToF32(h) : reduce::bf16ToF32(h);
    scalar::storeAcc<D>(dst, i, static_cast<A>(f));
  }
}

template <DType D>
constexpr void fillRow(QuantKernelTable& table) {
  constexpr int r = dataRow(D);
  table.range[r] = &rangeOf<D>;
  table.quantize[r][0] = &quantize<D, WireType::kU8>;
  table.quantize[r][1] = &quantize<D, WireType::kI8>;
  table.quantize[r][2] = &quantize<D, WireType::kU16>;
  table.dequantize[r][0] = &dequantize<D, WireType::kU8>;
  table.dequantize[r][1] = &dequantize<D, WireType::kI8>;
  table.dequantize[r][2] = &dequantize<D, WireType::kU16>;
  table.to_float_wire[r][0] = &toFloatWire<D, WireType::kF16>;
  table.to_float_wire[r][1] = &toFloatWire<D, WireType::kBF16>;
  table.from_float_wire[r][0] = &fromFloatWire<D, WireType::kF16>;
  table.from_float_wire[r][1] = &fromFloatWire<D, WireType::kBF16>;
}

constexpr QuantKernelTable makeScalarTable() {
  QuantKernelTable table{};
  fillRow<DType::kF16>(table);
  fillRow<DType::kBF16>(table);
  fillRow<DType::kF32>(table);
  fillRow<DType::kF64>(table);
  return table;
}

constexpr QuantKernelTable kScalarTable = makeScalarTable();

}  // namespace

const QuantKernelTable& scalarQuantKernels() {
  return kScalarTable;
}

}  // namespace eccl::quant
