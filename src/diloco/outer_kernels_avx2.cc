// The AVX2 path: compiled with -mavx2, reached only when the CPU has it.
#include "src/diloco/outer_kernels_impl.h"

namespace eccl::diloco::detail {

const OuterKernels* avx2OuterKernels() {
  return kOuterTable;
}

}  // namespace eccl::diloco::detail
