#include "tests/unit/reduce/test_buffers.h"

#include <bit>
#include <cmath>

#include "src/reduce/half.h"

namespace eccl::reduce::testing {
namespace {

bool isFloat(DType d) {
  return d == DType::kF16 || d == DType::kBF16 || d == DType::kF32 || d == DType::kF64;
}

// A float value stored as dtype's bits.
uint64_t encode(DType dtype, double v) {
  switch (dtype) {
    case DType::kF64:
      return std::bit_cast<uint64_t>(v);
    case DType::kF32:
      return std::bit_cast<uint32_t>(static_cast<float>(v));
    case DType::kF16:
      return f32ToF16(static_cast<float>(v));
    default:
      return f32ToBf16(static_cast<float>(v));
  }
}

uint64_t signBit(DType dtype) {
  return uint64_t{1} << (8 * dtypeSize(dtype) - 1);
}

uint64_t randomSpecial(DType dtype, std::mt19937_64& rng) {
  const uint64_t sign = (rng() & 1) != 0 ? signBit(dtype) : 0;
  const int bits = static_cast<int>(8 * dtypeSize(dtype));
  const int mant = dtype == DType::kF64   ? 52
                   : dtype == DType::kF32 ? 23
                   : dtype == DType::kF16 ? 10
                                          : 7;
  const uint64_t exp_mask = ((uint64_t{1} << (bits - 1 - mant)) - 1) << mant;
  const uint64_t mant_mask = (uint64_t{1} << mant) - 1;
  switch (rng() % 7) {
    case 0:
      return sign;  // +-0
    case 1:
      return sign | exp_mask;  // +-inf
    case 2:
      return sign | exp_mask | ((rng() & mant_mask) | 1);  // NaN, quiet or signalling
    case 3:
      return sign | (rng() & mant_mask);  // subnormal
    case 4:
      return sign | (exp_mask - (uint64_t{1} << mant)) | mant_mask;  // largest finite
    case 5:
      return sign | (uint64_t{1} << mant);  // smallest normal
    default:
      return encode(dtype, 1.0) | sign;
  }
}

}  // namespace

std::vector<uint64_t> randomElems(DType dtype, size_t count, std::mt19937_64& rng,
                                  const std::vector<uint64_t>* other) {
  const size_t size = dtypeSize(dtype);
  const uint64_t mask = size == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * size)) - 1;
  std::vector<uint64_t> out(count);
  std::uniform_real_distribution<double> ordinary(-8.0, 8.0);
  for (size_t i = 0; i < count; ++i) {
    const uint64_t pick = rng() % 10;
    if (!isFloat(dtype)) {
      out[i] = rng() & mask;
      if (pick == 0 && other != nullptr) out[i] = (*other)[i];  // ties for min/max
    } else if (pick < 3) {
      out[i] = rng() & mask;
    } else if (pick < 7) {
      out[i] = encode(dtype, ordinary(rng));
    } else if (pick < 8) {
      out[i] = randomSpecial(dtype, rng);
    } else if (other != nullptr) {
      out[i] = (*other)[i] ^ (pick == 8 ? 0 : signBit(dtype));  // equal or opposite sign
    } else {
      out[i] = encode(dtype, ordinary(rng) * 1e-3);
    }
  }
  return out;
}

}  // namespace eccl::reduce::testing
