// DiLoCo's Nesterov outer step (src/diloco/outer_kernels.h) per ISA path:
// what one round boundary costs besides its all-reduce. Bytes/s counts the
// outer parameters (one buffer); the kernel reads three and writes two.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "src/diloco/outer_kernels.h"

namespace {

using eccl::reduce::DType;
using eccl::reduce::Isa;

// range(0): ISA, range(1): dtype, range(2): bytes of outer parameters.
void BM_OuterNesterov(benchmark::State& state) {
  const auto isa = static_cast<Isa>(state.range(0));
  const auto dtype = static_cast<DType>(state.range(1));
  const auto bytes = static_cast<size_t>(state.range(2));
  const size_t count = bytes / eccl::reduce::dtypeSize(dtype);
  // Zero sums keep the values finite however long it runs.
  std::vector<unsigned char> global(bytes), momentum(bytes), sum(bytes);
  const eccl::diloco::OuterKernels& kernels = eccl::diloco::outerKernels(dtype, isa);
  for (auto _ : state) {
    kernels.nesterov(global.data(), momentum.data(), sum.data(), 3.0f, 0.7f, 0.9f, count);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
  state.SetLabel(std::string(eccl::reduce::isaName(isa)) + " " + eccl::reduce::dtypeName(dtype));
}

// Only the paths this CPU has.
void outerArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"isa", "dtype", "bytes"});
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (isa > eccl::reduce::bestSupportedIsa()) continue;
    for (DType dtype : {DType::kF32, DType::kBF16}) {
      for (int64_t bytes : {int64_t{256} << 10, int64_t{16} << 20}) {
        b->Args({static_cast<int64_t>(isa), static_cast<int64_t>(dtype), bytes});
      }
    }
  }
}

BENCHMARK(BM_OuterNesterov)->Apply(outerArgs);

}  // namespace
