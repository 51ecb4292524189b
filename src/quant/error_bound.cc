// The error bounds of quant.h. Why they hold, for an integer wire (A = the
// accumulation type, u its unit roundoff, s = R / L, alpha = L / R; each fl()
// is one rounding (1 + d), |d| <= u; subnormal sums and differences are exact,
// and scale >= 2^-117 (f32) keeps every product that matters normal):
//  kMinMax: t = fl(fl(x - mn) * fl(alpha)) is within 3.01 u L of the exact
//    (x - mn) alpha, which lies in [0, L (1 + u)]; clamping moves towards it,
//    so |q - (x - mn) alpha| <= 1/2 + 4.02 u L. Dequantizing adds
//    2.01 u (R + s) for fl(k * fl(s)) and u (M + R) for the final sum:
//    |x - y| <= s/2 + u (8.1 R + 1.1 M) <= R/(2L) + 8u (R + M).
//  kZeroPointScale: zp = qmin + Z with |Z + mn alpha| <= 1/2 + 2.01 u L, so the
//    levels -Z s and (L - Z) s reach past mn and mx by at most s/2 + 2.01 u R:
//    clamped or not, |k - x alpha| <= 1/2 + 2.01 u (L + |x| alpha), and
//    fl(k * fl(s)) adds 2.01 u (M + s): |x - y| <= R/(2L) + u (4.1 R + 4.1 M).
//  Degenerate blocks (R < T) decode to mn or 0, both within R of every value.
//  f16/bf16 data round the f32 result once more: u_d |y| + eta_d.
#include <algorithm>
#include <cmath>
#include <limits>

#include "src/quant/kernel_table.h"
#include "src/quant/layout.h"
#include "src/quant/quant.h"
#include "src/quant/wire_traits.h"

namespace eccl::quant {
namespace {

using reduce::DType;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kF16Overflow = 65520.0;             // rounds to Inf from here
constexpr double kBf16Overflow = 0x1p128 - 0x1p119;  // likewise
constexpr double kF32Overflow = 0x1p128 - 0x1p103;   // likewise

// Unit roundoff and half the smallest subnormal of a float format.
struct Format {
  double u;
  double eta;
  double overflow;
};

constexpr Format kF16Format{0x1p-11, 0x1p-25, kF16Overflow};
constexpr Format kBf16Format{0x1p-8, 0x1p-134, kBf16Overflow};
constexpr Format kF32Format{0x1p-24, 0x1p-150, kF32Overflow};
constexpr Format kF64Format{0x1p-53, 0x1p-1074, kInf};  // 2^-1075 is not a double

Format formatOf(DType data) {
  switch (data) {
    case DType::kF16:
      return kF16Format;
    case DType::kBF16:
      return kBf16Format;
    case DType::kF32:
      return kF32Format;
    default:
      return kF64Format;
  }
}

double levelsOf(WireType wire) {
  return wire == WireType::kU16 ? 65535.0 : 255.0;
}

// One rounding of a value of magnitude <= m into `to`: the error, or Inf when
// it may overflow.
double roundingError(const Format& to, double m) {
  return m >= to.overflow ? kInf : to.u * m + to.eta;
}

double intWireBound(const QuantConfig& config, DType data, double range, double max_abs) {
  const bool f64 = data == DType::kF64;
  const double u = f64 ? kF64Format.u : kF32Format.u;
  const double t = f64 ? double{kDegenerateRange<double>} : double{kDegenerateRange<float>};
  const double in_acc =
      range < t ? range : range / (2 * levelsOf(config.wire)) + 8 * u * (range + max_abs);
  if (data != DType::kF16 && data != DType::kBF16) return in_acc;
  return in_acc + roundingError(formatOf(data), max_abs + in_acc);
}

double floatWireBound(const QuantConfig& config, DType data, double max_abs) {
  const Format wire = config.wire == WireType::kF16 ? kF16Format : kBf16Format;
  const bool lossless = (data == DType::kF16 && config.wire == WireType::kF16) ||
                        (data == DType::kBF16 && config.wire == WireType::kBF16);
  if (lossless) return 0;
  double error = 0;
  if (data == DType::kF64) error += roundingError(kF32Format, max_abs);  // f64 -> f32
  error += roundingError(wire, max_abs + error);                         // f32 -> wire
  if (data == DType::kF16 || data == DType::kBF16) {
    error += roundingError(formatOf(data), max_abs + error);  // wire -> f32 -> data
  }
  return error;
}

}  // namespace

double quantErrorBound(const QuantConfig& config, DType data, BlockExtent extent) {
  requireValid(config, data, "quantErrorBound");
  if (!std::isfinite(extent.range) || !std::isfinite(extent.max_abs)) return kInf;
  if (!isIntWire(config.wire)) return floatWireBound(config, data, extent.max_abs);
  return intWireBound(config, data, extent.range, extent.max_abs);
}

double ringErrorBound(const QuantConfig& config, DType data, std::span<const BlockExtent> steps) {
  const Format acc = formatOf(data);
  double bound = 0;
  for (size_t k = 0; k < steps.size(); ++k) {
    bound += quantErrorBound(config, data, steps[k]);
    // Step k > 0 quantizes a sum that reduceInto rounded (f16/bf16: twice).
    if (k > 0) bound += 2 * acc.u * steps[k].max_abs + acc.eta;
  }
  return bound;
}

double ringErrorBound(const QuantConfig& config, DType data, uint32_t peers, double max_abs_input) {
  requireValid(config, data, "ringErrorBound");
  const Format acc = formatOf(data);
  const bool f64 = data == DType::kF64;
  const double t = f64 ? double{kDegenerateRange<double>} : double{kDegenerateRange<float>};
  double bound = 0;
  for (uint32_t k = 1; k <= peers; ++k) {
    const double partial = k * max_abs_input + bound;
    if (k > 1) bound += 2 * acc.u * partial + acc.eta;
    const double m = k * max_abs_input + bound;
    // The worst block range up to 2m: the full one, or the largest degenerate.
    const double worst =
        std::max(quantErrorBound(config, data, {2 * m, m}),
                 quantErrorBound(config, data, {std::min(2 * m, std::nextafter(t, 0.0)), m}));
    bound += worst;
  }
  return bound;
}

}  // namespace eccl::quant
