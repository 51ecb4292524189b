// The AVX-512 path (F/BW/VL + F16C). Compiled with those flags; only reached
// when the CPU has all of them (reduce::activeIsa()).
#include <immintrin.h>

#include "src/quant/kernel_table.h"
#include "src/quant/simd_kernels.h"

namespace eccl::quant {
namespace {

struct Avx512 {
  static constexpr size_t kBytes = 64;

  // The maskz forms: GCC 12 warns about the plain forms' undefined passthrough.
  static Vec<int32_t, 64> roundToInt(Vec<float, 64> f) {  // nearest even (MXCSR default)
    return (Vec<int32_t, 64>)_mm512_maskz_cvtps_epi32(__mmask16(0xFFFF), (__m512)f);
  }
  // Integer levels of the wire <-> int32 lanes (narrow: already clamped, so
  // the truncating VPMOVDB/VPMOVDW are exact).
  template <WireType W>
  static Vec<int32_t, 64> widen(const unsigned char* p) {
    if constexpr (W == WireType::kU16) {
      return (Vec<int32_t, 64>)_mm512_maskz_cvtepu16_epi32(
          __mmask16(0xFFFF), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
    } else {
      const __m128i bytes = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
      return (Vec<int32_t, 64>)(W == WireType::kI8
                                    ? _mm512_maskz_cvtepi8_epi32(__mmask16(0xFFFF), bytes)
                                    : _mm512_maskz_cvtepu8_epi32(__mmask16(0xFFFF), bytes));
    }
  }
  template <WireType W>
  static void narrow(unsigned char* p, Vec<int32_t, 64> r) {
    if constexpr (W == WireType::kU16) {
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(p),
                          _mm512_maskz_cvtepi32_epi16(__mmask16(0xFFFF), (__m512i)r));
    } else {
      _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                       _mm512_maskz_cvtepi32_epi8(__mmask16(0xFFFF), (__m512i)r));
    }
  }
  static Vec<uint16_t, 32> toF16(Vec<float, 64> f) {
    return (Vec<uint16_t, 32>)_mm512_maskz_cvtps_ph(__mmask16(0xFFFF), (__m512)f,
                                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  }
  static Vec<float, 64> fromF16(Vec<uint16_t, 32> h) {
    return (Vec<float, 64>)_mm512_maskz_cvtph_ps(__mmask16(0xFFFF), (__m256i)h);
  }
};

}  // namespace

const QuantKernelTable& avx512QuantKernels() {
  static const QuantKernelTable table = F32Kernels<Avx512>::table();
  return table;
}

}  // namespace eccl::quant
