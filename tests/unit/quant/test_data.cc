#include "tests/unit/quant/test_data.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

#include "src/reduce/half.h"

namespace eccl::quant::testing {

using reduce::DType;

Bytes toData(DType data, const std::vector<double>& values) {
  const size_t size = reduce::dtypeSize(data);
  Bytes out(values.size() * size);
  for (size_t i = 0; i < values.size(); ++i) {
    unsigned char* p = out.data() + i * size;
    const auto f = static_cast<float>(values[i]);
    if (data == DType::kF64) {
      std::memcpy(p, &values[i], 8);
    } else if (data == DType::kF32) {
      std::memcpy(p, &f, 4);
    } else {
      const uint16_t h = data == DType::kF16 ? reduce::f32ToF16(f) : reduce::f32ToBf16(f);
      std::memcpy(p, &h, 2);
    }
  }
  return out;
}

uint64_t bitsAt(DType data, const Bytes& buffer, size_t i) {
  const size_t size = reduce::dtypeSize(data);
  uint64_t bits = 0;
  std::memcpy(&bits, buffer.data() + i * size, size);
  return bits;
}

double valueAt(DType data, const Bytes& buffer, size_t i) {
  const uint64_t bits = bitsAt(data, buffer, i);
  switch (data) {
    case DType::kF64:
      return std::bit_cast<double>(bits);
    case DType::kF32:
      return std::bit_cast<float>(static_cast<uint32_t>(bits));
    case DType::kF16:
      return reduce::f16ToF32(static_cast<uint16_t>(bits));
    default:
      return reduce::bf16ToF32(static_cast<uint16_t>(bits));
  }
}

bool isCanonicalNan(DType data, uint64_t bits) {
  switch (data) {
    case DType::kF64:
      return bits == 0x7FF8000000000000u;
    case DType::kF32:
      return bits == 0x7FC00000u;
    case DType::kF16:
      return bits == 0x7E00u;
    default:
      return bits == 0x7FC0u;
  }
}

BlockExtent extentOf(const QuantConfig& config, DType data, const Bytes& buffer, size_t first,
                     size_t n) {
  double mn = valueAt(data, buffer, first), mx = mn;
  for (size_t i = first; i < first + n; ++i) {
    mn = std::min(mn, valueAt(data, buffer, i));
    mx = std::max(mx, valueAt(data, buffer, i));
  }
  const double max_abs = std::max(std::fabs(mn), std::fabs(mx));
  if (config.algo == QuantAlgo::kZeroPointScale) {
    mn = std::min(mn, 0.0);
    mx = std::max(mx, 0.0);
  }
  const double range = data == DType::kF64
                           ? mx - mn
                           : static_cast<double>(static_cast<float>(mx) - static_cast<float>(mn));
  return {range, max_abs};
}

Bytes encoded(const QuantConfig& config, DType data, const Bytes& src) {
  const size_t count = src.size() / reduce::dtypeSize(data);
  Bytes wire(encodedBytes(config, data, count));
  encode(config, data, src.data(), count, wire.data());
  return wire;
}

Bytes decoded(const QuantConfig& config, DType data, const Bytes& wire, size_t count) {
  Bytes out(count * reduce::dtypeSize(data));
  decode(config, data, wire.data(), count, out.data());
  return out;
}

std::vector<double> uniform(size_t count, double lo, double hi, std::mt19937_64& rng) {
  std::uniform_real_distribution<double> dist(lo, hi);
  std::vector<double> v(count);
  for (double& x : v)
    x = dist(rng);
  return v;
}

std::vector<double> hardValues(DType data, size_t count, uint32_t block, std::mt19937_64& rng) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  // The largest finite magnitude of the dtype, halved: two of them make a
  // range that overflows f32 (f16/bf16/f32 data) or f64.
  const double huge = data == DType::kF64 ? 1.5e308 : data == DType::kF16 ? 6e4 : 3e38;
  const double denormal = data == DType::kF16 ? 3e-6 : data == DType::kF64 ? 1e-310 : 1e-39;
  std::vector<double> v(count);
  std::uniform_int_distribution<int> kind_of_block(0, 9);
  std::uniform_int_distribution<int> exponent(-20, 20);
  std::normal_distribution<double> normal(0.0, 1.0);
  for (size_t first = 0; first < count; first += block) {
    const size_t last = std::min<size_t>(count, first + block);
    const int kind = kind_of_block(rng);
    const double magnitude = std::ldexp(1.0, exponent(rng));
    const double shift = (kind == 1) ? magnitude * 5 : 0.0;  // all one sign
    for (size_t i = first; i < last; ++i) {
      double x = normal(rng) * magnitude + shift;
      if (kind == 2) x = 1.25;                    // constant block
      if (kind == 3) x = normal(rng) * denormal;  // denormals
      if (kind == 4 && i % 3 == 0) x = (i % 2) ? -0.0 : 0.0;
      if (kind == 5 && i % 4 == 0) x = std::nearbyint(x * 4) / 4;  // ties on coarse grids
      v[i] = x;
    }
    const size_t pick = first + (last - first) / 2;
    if (kind == 6) v[pick] = (pick % 2) ? nan : -nan;
    if (kind == 7) v[pick] = (pick % 2) ? inf : -inf;
    if (kind == 8 && data != DType::kF16) {  // the range overflows the accumulation type
      v[first] = -huge;
      v[last - 1] = huge;
    }
  }
  return v;
}

std::string describe(const QuantConfig& config, DType data) {
  return std::string(reduce::dtypeName(data)) + " on " + wireName(config.wire) + " by " +
         algoName(config.algo) + " block " + std::to_string(config.block_elems);
}

}  // namespace eccl::quant::testing
