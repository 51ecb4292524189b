// The AVX-512 path (F/BW/VL + F16C). Compiled with those flags; only reached
// when the CPU has all of them (isa_select.cc).
#include <immintrin.h>

#include "src/reduce/kernel_table.h"
#include "src/reduce/simd_kernels.h"

namespace eccl::reduce {
namespace {

struct Avx512 {
  static constexpr size_t kBytes = 64;

  // The maskz forms: GCC 12 warns about the plain forms' undefined passthrough.
  static Vec<float, 64> widenF16(const unsigned char* p) {
    return (Vec<float, 64>)_mm512_maskz_cvtph_ps(
        __mmask16(0xFFFF), _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
  }
  static void narrowF16(unsigned char* p, Vec<float, 64> f) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(p),
                        _mm512_maskz_cvtps_ph(__mmask16(0xFFFF), (__m512)f,
                                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
  }
};

constexpr KernelTable kAvx512Table = makeKernelTable<SimdKernels<Avx512>::Kernel>();

}  // namespace

const KernelTable& avx512Kernels() {
  return kAvx512Table;
}

}  // namespace eccl::reduce
