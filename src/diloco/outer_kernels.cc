// Picks the outer kernels of the reduction kernels' ISA path, so that
// ECCL_ISA and reduce::setIsa() steer both alike.
#include "src/diloco/outer_kernels.h"

#include <cstdlib>

#include "src/common/log.h"

namespace eccl::diloco {

bool isOuterDType(reduce::DType dtype) {
  return dtype == reduce::DType::kF32 || dtype == reduce::DType::kBF16;
}

const OuterKernels& outerKernels(reduce::DType dtype, reduce::Isa isa) {
  if (!isOuterDType(dtype)) {
    // Callers validate the dtype first; reaching this is a bug in ECCL.
    ECCL_LOG_ERROR("outerKernels: dtype {} is not f32 or bf16", reduce::dtypeName(dtype));
    std::abort();
  }
  const OuterKernels* table = detail::scalarOuterKernels();
#if defined(ECCL_DILOCO_X86_SIMD)
  if (isa == reduce::Isa::kAvx2) table = detail::avx2OuterKernels();
  if (isa == reduce::Isa::kAvx512) table = detail::avx512OuterKernels();
#else
  (void)isa;
#endif
  return table[dtype == reduce::DType::kF32 ? 0 : 1];
}

const OuterKernels& outerKernels(reduce::DType dtype) {
  return outerKernels(dtype, reduce::activeIsa());
}

}  // namespace eccl::diloco
