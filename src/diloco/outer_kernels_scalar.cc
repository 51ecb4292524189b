// The baseline x86-64 (or any CPU) path; also the reference the others must match.
#include "src/diloco/outer_kernels_impl.h"

namespace eccl::diloco::detail {

const OuterKernels* scalarOuterKernels() {
  return kOuterTable;
}

}  // namespace eccl::diloco::detail
