// IEEE binary16 (f16) and bfloat16 (bf16) <-> f32 conversions in plain integer
// arithmetic. These are the reference every vector path must match bit for bit:
// widening is exact; narrowing rounds to nearest, ties to even, with correct
// subnormals, overflow to infinity, and NaNs kept NaN (quieted, sign and the
// top payload bits preserved, as F16C hardware does).
#pragma once

#include <bit>
#include <cstdint>

namespace eccl::reduce {

inline float f16ToF32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  uint32_t mant = h & 0x3FFu;
  uint32_t bits;
  if (exp == 0x1F) {
    // Inf or NaN; a signalling NaN comes out quiet, as VCVTPH2PS does.
    bits = sign | 0x7F800000u | (mant << 13) | (mant != 0 ? 0x00400000u : 0u);
  } else if (exp != 0) {
    bits = sign | ((exp + 112u) << 23) | (mant << 13);
  } else if (mant == 0) {
    bits = sign;
  } else {
    // Subnormal: m * 2^-24. Shift the leading one into the implicit position.
    const int lead = std::countl_zero(mant) - 21;  // places to move the top one to bit 10
    mant = (mant << lead) & 0x3FFu;
    bits = sign | ((113u - static_cast<uint32_t>(lead)) << 23) | (mant << 13);
  }
  return std::bit_cast<float>(bits);
}

inline uint16_t f32ToF16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  const auto sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  x &= 0x7FFFFFFFu;
  if (x > 0x7F800000u) return static_cast<uint16_t>(sign | 0x7E00u | ((x >> 13) & 0x3FFu));
  // 0x477FF000 is halfway between 65504 (odd mantissa) and 65536: ties go up.
  if (x >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);
  if (x >= 0x38800000u) {  // normal f16: rebias the exponent, round the low 13 bits
    uint32_t r = x - (112u << 23);
    r += 0x0FFFu + ((r >> 13) & 1u);
    return static_cast<uint16_t>(sign | (r >> 13));
  }
  // 2^-25 exactly is a tie between 0 and the smallest subnormal: even is 0.
  if (x <= 0x33000000u) return sign;
  const uint32_t e = x >> 23;
  const uint32_t m = (x & 0x7FFFFFu) | 0x800000u;  // value = m * 2^(e-150)
  const uint32_t shift = 126u - e;                 // to units of 2^-24: 14..24
  uint32_t q = m >> shift;
  const uint32_t rem = m & ((1u << shift) - 1u);
  const uint32_t half = 1u << (shift - 1u);
  if (rem > half || (rem == half && (q & 1u) != 0)) ++q;  // may carry into the smallest normal
  return static_cast<uint16_t>(sign | q);
}

inline float bf16ToF32(uint16_t h) {
  return std::bit_cast<float>(static_cast<uint32_t>(h) << 16);
}

inline uint16_t f32ToBf16(float f) {
  const uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((x >> 16) | 0x0040u);
  return static_cast<uint16_t>((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
}

}  // namespace eccl::reduce
