// The AVX2 path (+F16C). Compiled with -mavx2 -mf16c; only reached when the
// CPU has both (isa_select.cc).
#include <immintrin.h>

#include "src/reduce/kernel_table.h"
#include "src/reduce/simd_kernels.h"

namespace eccl::reduce {
namespace {

struct Avx2 {
  static constexpr size_t kBytes = 32;

  static Vec<float, 32> widenF16(const unsigned char* p) {
    return (Vec<float, 32>)_mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }
  static void narrowF16(unsigned char* p, Vec<float, 32> f) {
    _mm_storeu_si128(reinterpret_cast<__m128i*>(p),
                     _mm256_cvtps_ph((__m256)f, _MM_FROUND_TO_NEAREST_INT));
  }
};

constexpr KernelTable kAvx2Table = makeKernelTable<SimdKernels<Avx2>::Kernel>();

}  // namespace

const KernelTable& avx2Kernels() {
  return kAvx2Table;
}

}  // namespace eccl::reduce
