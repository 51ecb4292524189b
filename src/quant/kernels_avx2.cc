// The AVX2 path (+F16C). Compiled with -mavx2 -mf16c; only reached when the
// CPU has both (reduce::activeIsa()).
#include <immintrin.h>

#include "src/quant/kernel_table.h"
#include "src/quant/simd_kernels.h"

namespace eccl::quant {
namespace {

struct Avx2 {
  static constexpr size_t kBytes = 32;

  static Vec<int32_t, 32> roundToInt(Vec<float, 32> f) {  // nearest even (MXCSR default)
    return (Vec<int32_t, 32>)_mm256_cvtps_epi32((__m256)f);
  }
  // Integer levels of the wire <-> int32 lanes (narrow: already clamped, so
  // keeping the low bytes of each lane is exact).
  template <WireType W>
  static Vec<int32_t, 32> widen(const unsigned char* p) {
    if constexpr (W == WireType::kU16) {
      return (Vec<int32_t, 32>)_mm256_cvtepu16_epi32(
          _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    } else {
      const __m128i bytes = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
      return (Vec<int32_t, 32>)(W == WireType::kI8 ? _mm256_cvtepi8_epi32(bytes)
                                                   : _mm256_cvtepu8_epi32(bytes));
    }
  }
  template <WireType W>
  static void narrow(unsigned char* p, Vec<int32_t, 32> r) {
    if constexpr (W == WireType::kU16) {
      // Low halves of each 128-bit lane's dwords, then the two lanes' 8 bytes together.
      const __m256i lanes = _mm256_shuffle_epi8(
          (__m256i)r, _mm256_setr_epi8(0, 1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1, 0,
                                       1, 4, 5, 8, 9, 12, 13, -1, -1, -1, -1, -1, -1, -1, -1));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                       _mm256_castsi256_si128(_mm256_permute4x64_epi64(lanes, 0x08)));
    } else {
      const __m256i lanes =
          _mm256_shuffle_epi8((__m256i)r, _mm256_setr_epi8(0, 4, 8, 12, -1, -1, -1, -1, -1, -1, -1,
                                                           -1, -1, -1, -1, -1, 0, 4, 8, 12, -1, -1,
                                                           -1, -1, -1, -1, -1, -1, -1, -1, -1, -1));
      const __m256i packed =
          _mm256_permutevar8x32_epi32(lanes, _mm256_setr_epi32(0, 4, 1, 1, 1, 1, 1, 1));
      _mm_storel_epi64(reinterpret_cast<__m128i*>(p), _mm256_castsi256_si128(packed));
    }
  }
  static Vec<uint16_t, 16> toF16(Vec<float, 32> f) {
    return (Vec<uint16_t, 16>)_mm256_cvtps_ph((__m256)f, _MM_FROUND_TO_NEAREST_INT);
  }
  static Vec<float, 32> fromF16(Vec<uint16_t, 16> h) {
    return (Vec<float, 32>)_mm256_cvtph_ps((__m128i)h);
  }
};

}  // namespace

const QuantKernelTable& avx2QuantKernels() {
  static const QuantKernelTable table = F32Kernels<Avx2>::table();
  return table;
}

}  // namespace eccl::quant
