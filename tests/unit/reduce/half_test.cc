// half.h against the table-search reference: every f16 and bf16 pattern, the
// ties between neighbours, and random f32 values.
#include "src/reduce/half.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>

#include "tests/unit/reduce/reference.h"

namespace eccl::reduce {
namespace {

using testing::refF32ToHalf;
using testing::refHalfToF32;

float widen(uint16_t h, bool bf16) {
  return bf16 ? bf16ToF32(h) : f16ToF32(h);
}
uint16_t narrow(float f, bool bf16) {
  return bf16 ? f32ToBf16(f) : f32ToF16(f);
}
bool isNanPattern(uint16_t h, bool bf16) {
  return bf16 ? (h & 0x7FFF) > 0x7F80 : (h & 0x7FFF) > 0x7C00;
}

class HalfTest : public ::testing::TestWithParam<bool> {};

TEST_P(HalfTest, WidenIsExactForEveryPattern) {
  const bool bf16 = GetParam();
  for (uint32_t b = 0; b < 65536; ++b) {
    const auto h = static_cast<uint16_t>(b);
    const float got = widen(h, bf16);
    const float want = refHalfToF32(h, bf16);
    if (isNanPattern(h, bf16)) {
      ASSERT_TRUE(std::isnan(got)) << std::hex << b;
      ASSERT_EQ(std::signbit(got), (h & 0x8000) != 0) << std::hex << b;
    } else {
      ASSERT_EQ(std::bit_cast<uint32_t>(got), std::bit_cast<uint32_t>(want)) << std::hex << b;
    }
  }
}

TEST_P(HalfTest, NarrowRoundTripsEveryPattern) {
  const bool bf16 = GetParam();
  const uint16_t quiet = bf16 ? 0x0040 : 0x0200;
  for (uint32_t b = 0; b < 65536; ++b) {
    const auto h = static_cast<uint16_t>(b);
    const uint16_t want = isNanPattern(h, bf16) ? static_cast<uint16_t>(h | quiet) : h;
    ASSERT_EQ(narrow(widen(h, bf16), bf16), want) << std::hex << b;
  }
}

// Midpoints between neighbouring patterns (ties to even) and one f32 ulp
// either side of them, for every finite pattern.
TEST_P(HalfTest, NarrowRoundsTiesAndNeighboursLikeReference) {
  const bool bf16 = GetParam();
  const uint16_t last_finite = bf16 ? 0x7F7F : 0x7BFF;
  for (uint32_t sign : {0u, 0x8000u}) {
    for (uint32_t b = 0; b <= last_finite; ++b) {
      const double lo = testing::refHalfToDouble(static_cast<uint16_t>(b), bf16);
      const double hi = b < last_finite
                            ? testing::refHalfToDouble(static_cast<uint16_t>(b + 1), bf16)
                            : (bf16 ? std::ldexp(1.0, 128) : 65536.0);
      const double mid = (lo + hi) / 2;
      if (mid > 3.4028234663852886e38) continue;   // not a float
      const auto mid_f = static_cast<float>(mid);  // exact: halves have fewer bits than f32
      ASSERT_EQ(static_cast<double>(mid_f), mid);
      for (float f : {mid_f, std::nextafter(mid_f, 0.0f), std::nextafter(mid_f, INFINITY),
                      static_cast<float>(lo)}) {
        const float signed_f = sign != 0 ? -f : f;
        ASSERT_EQ(narrow(signed_f, bf16), refF32ToHalf(signed_f, bf16))
            << std::hex << std::bit_cast<uint32_t>(signed_f);
      }
    }
  }
}

TEST_P(HalfTest, NarrowMatchesReferenceOnRandomFloats) {
  const bool bf16 = GetParam();
  std::mt19937 rng(bf16 ? 7 : 11);
  for (int i = 0; i < 300000; ++i) {
    uint32_t bits = rng();
    // Half of them near the f16 range, where the interesting rounding is.
    if (!bf16 && (i & 1)) bits = (bits & 0x807FFFFFu) | ((0x60u + (bits >> 27)) << 23);
    const float f = std::bit_cast<float>(bits);
    ASSERT_EQ(narrow(f, bf16), refF32ToHalf(f, bf16)) << std::hex << bits;
  }
}

TEST_P(HalfTest, SpecialValues) {
  const bool bf16 = GetParam();
  const uint16_t inf = bf16 ? 0x7F80 : 0x7C00;
  EXPECT_EQ(narrow(INFINITY, bf16), inf);
  EXPECT_EQ(narrow(-INFINITY, bf16), inf | 0x8000);
  EXPECT_EQ(narrow(0.0f, bf16), 0);
  EXPECT_EQ(narrow(-0.0f, bf16), 0x8000);
  EXPECT_EQ(narrow(std::bit_cast<float>(0x7FC00000u), bf16), bf16 ? 0x7FC0 : 0x7E00);
  EXPECT_EQ(narrow(std::bit_cast<float>(0xFF800001u), bf16), bf16 ? 0xFFC0 : 0xFE00);
  EXPECT_EQ(narrow(1.0f, bf16), bf16 ? 0x3F80 : 0x3C00);
  if (!bf16) {
    EXPECT_EQ(narrow(65504.0f, false), 0x7BFF);
    EXPECT_EQ(narrow(65519.996f, false), 0x7BFF);
    EXPECT_EQ(narrow(65520.0f, false), 0x7C00);  // the tie goes to inf (even)
    EXPECT_EQ(narrow(std::ldexp(1.0f, -24), false), 0x0001);
    EXPECT_EQ(narrow(std::ldexp(1.0f, -25), false), 0x0000);  // tie to even zero
    EXPECT_EQ(narrow(std::ldexp(1.5f, -25), false), 0x0001);
    EXPECT_EQ(narrow(std::ldexp(3.0f, -25), false), 0x0002);  // 1.5 ulp ties to 2
    EXPECT_EQ(f16ToF32(0x0001), std::ldexp(1.0f, -24));
    EXPECT_EQ(f16ToF32(0x03FF), std::ldexp(1023.0f, -24));
  } else {
    EXPECT_EQ(narrow(std::bit_cast<float>(0x7F7FFFFFu), true), 0x7F80);  // rounds up to inf
    EXPECT_EQ(narrow(std::bit_cast<float>(0x00008000u), true), 0x0000);  // subnormal tie, even
    EXPECT_EQ(narrow(std::bit_cast<float>(0x00018000u), true), 0x0002);
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, HalfTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? std::string("bf16") : std::string("f16");
                         });

}  // namespace
}  // namespace eccl::reduce
