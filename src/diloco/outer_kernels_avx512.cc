// The AVX-512 path: compiled with -mavx512f/bw/vl, reached only when the CPU has them.
#include "src/diloco/outer_kernels_impl.h"

namespace eccl::diloco::detail {

const OuterKernels* avx512OuterKernels() {
  return kOuterTable;
}

}  // namespace eccl::diloco::detail
