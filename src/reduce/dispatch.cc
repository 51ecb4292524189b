// reduceInto and the choice of ISA path: one table pointer, set once from the
// CPU and ECCL_ISA, switched only by setIsa().
#include <atomic>
#include <cstdlib>
#include <string>

#include "src/common/log.h"
#include "src/reduce/isa_select.h"
#include "src/reduce/kernel_table.h"
#include "src/reduce/reduce.h"

namespace eccl::reduce {
namespace {

const KernelTable& tableFor(Isa isa) {
  switch (isa) {
#if defined(ECCL_REDUCE_X86_SIMD)
    case Isa::kAvx512:
      return avx512Kernels();
    case Isa::kAvx2:
      return avx2Kernels();
#endif
    default:
      return scalarKernels();
  }
}

struct Active {
  std::atomic<Isa> isa;
  std::atomic<const KernelTable*> table;
};

Active& active() {
  static Active state = [] {
    const IsaChoice choice = chooseIsa(std::getenv("ECCL_ISA"), bestSupportedIsa());
    if (!choice.warning.empty()) ECCL_LOG_WARN("reduce: {}", choice.warning);
    ECCL_LOG_DEBUG("reduce: using the {} kernels", isaName(choice.isa));
    return Active{choice.isa, &tableFor(choice.isa)};
  }();
  return state;
}

}  // namespace

void reduceInto(void* acc, const void* in, size_t count, DType dtype, ReduceOp op) {
  if (count == 0) return;
  if (!isValid(dtype) || !isValid(op)) {
    // Callers validate user input first; reaching this is a bug in ECCL.
    ECCL_LOG_ERROR("reduceInto: invalid dtype {} or op {}", static_cast<int>(dtype),
                   static_cast<int>(op));
    std::abort();
  }
  active().table.load(std::memory_order_relaxed)->get(dtype, op)(acc, in, count);
}

Isa activeIsa() {
  return active().isa.load(std::memory_order_relaxed);
}

Isa bestSupportedIsa() {
  static const Isa best = detectBestIsa();
  return best;
}

Status setIsa(Isa isa) {
  if (isa != Isa::kScalar && isa != Isa::kAvx2 && isa != Isa::kAvx512) {
    return invalidArgument("setIsa: unknown ISA " + std::to_string(static_cast<int>(isa)));
  }
  if (isa > bestSupportedIsa()) {
    return unsupportedError(std::string("setIsa: this CPU (or build) has no ") + isaName(isa) +
                            " path; the best is " + isaName(bestSupportedIsa()));
  }
  Active& state = active();
  state.table.store(&tableFor(isa), std::memory_order_relaxed);
  state.isa.store(isa, std::memory_order_relaxed);
  return Status::ok();
}

}  // namespace eccl::reduce
