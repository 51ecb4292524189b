// The per-ISA function-pointer tables that reduceInto dispatches through: one
// kernel per (dtype, op), chosen once, so no branch runs per element.
#pragma once

#include <cstddef>
#include <utility>

#include "src/reduce/reduce.h"

namespace eccl::reduce {

using KernelFn = void (*)(void* acc, const void* in, size_t count);

struct KernelTable {
  KernelFn fn[kNumDTypes][kNumReduceOps];

  KernelFn get(DType dtype, ReduceOp op) const {
    return fn[static_cast<int>(dtype)][static_cast<int>(op)];
  }
};

// Always available; also finishes the tails of the vector kernels.
const KernelTable& scalarKernels();
#if defined(ECCL_REDUCE_X86_SIMD)
// Call only when the CPU has the instructions (bestSupportedIsa()).
const KernelTable& avx2Kernels();
const KernelTable& avx512Kernels();
#endif

namespace detail {
template <template <DType, ReduceOp> class K, DType D>
constexpr void fillRow(KernelTable& table) {
  KernelFn* row = table.fn[static_cast<int>(D)];
  row[static_cast<int>(ReduceOp::kSum)] = &K<D, ReduceOp::kSum>::run;
  row[static_cast<int>(ReduceOp::kAvg)] = &K<D, ReduceOp::kSum>::run;  // divided at the end
  row[static_cast<int>(ReduceOp::kProd)] = &K<D, ReduceOp::kProd>::run;
  row[static_cast<int>(ReduceOp::kMin)] = &K<D, ReduceOp::kMin>::run;
  row[static_cast<int>(ReduceOp::kMax)] = &K<D, ReduceOp::kMax>::run;
}
}  // namespace detail

// A table from a kernel template K<dtype, op> with a static run(acc, in, count).
template <template <DType, ReduceOp> class K>
constexpr KernelTable makeKernelTable() {
  KernelTable table{};
  [&]<size_t... D>(std::index_sequence<D...>) {
    (detail::fillRow<K, static_cast<DType>(D)>(table), ...);
  }
  (std::make_index_sequence<kNumDTypes>{});
  return table;
}

}  // namespace eccl::reduce
