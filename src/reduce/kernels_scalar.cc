// The scalar path: the reference for the vector paths and their tail loop.
#include <cstddef>

#include "src/reduce/kernel_table.h"
#include "src/reduce/scalar_ops.h"

namespace eccl::reduce {
namespace {

template <DType D, ReduceOp Op>
struct ScalarKernel {
  static void run(void* acc, const void* in, size_t count) {
    using E = scalar::Elem<D>;
    using T = typename E::Storage;
    for (size_t i = 0; i < count; ++i) {
      scalar::store<T>(acc, i,
                       E::template combine<Op>(scalar::load<T>(acc, i), scalar::load<T>(in, i)));
    }
  }
};

constexpr KernelTable kScalarTable = makeKernelTable<ScalarKernel>();

}  // namespace

const KernelTable& scalarKernels() {
  return kScalarTable;
}

}  // namespace eccl::reduce
