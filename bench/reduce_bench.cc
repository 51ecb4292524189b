// reduceInto throughput per ISA path: the arithmetic cost of every collective
// step. Bytes/s counts the payload (one buffer); memory traffic is about 3x
// (read acc, read in, write acc).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "src/reduce/half.h"
#include "src/reduce/reduce.h"

namespace {

using eccl::reduce::DType;
using eccl::reduce::Isa;

std::vector<unsigned char> filled(DType dtype, size_t bytes, float value) {
  std::vector<unsigned char> buf(bytes);
  const size_t size = eccl::reduce::dtypeSize(dtype);
  for (size_t off = 0; off + size <= bytes; off += size) {
    switch (dtype) {
      case DType::kF32:
        std::memcpy(&buf[off], &value, size);
        break;
      case DType::kF16: {
        const uint16_t h = eccl::reduce::f32ToF16(value);
        std::memcpy(&buf[off], &h, size);
        break;
      }
      case DType::kBF16: {
        const uint16_t h = eccl::reduce::f32ToBf16(value);
        std::memcpy(&buf[off], &h, size);
        break;
      }
      default: {
        const auto i = static_cast<int32_t>(value);
        std::memcpy(&buf[off], &i, size);
        break;
      }
    }
  }
  return buf;
}

// range(0): ISA, range(1): dtype, range(2): payload bytes.
void BM_ReduceInto(benchmark::State& state) {
  const auto isa = static_cast<Isa>(state.range(0));
  const auto dtype = static_cast<DType>(state.range(1));
  const auto bytes = static_cast<size_t>(state.range(2));
  if (!eccl::reduce::setIsa(isa).isOk()) {
    state.SkipWithError("ISA not supported by this CPU");
    return;
  }
  auto acc = filled(dtype, bytes, 1.0f);
  const auto in = filled(dtype, bytes, 0.0f);  // sums stay finite however long it runs
  const size_t count = bytes / eccl::reduce::dtypeSize(dtype);
  for (auto _ : state) {
    eccl::reduce::reduceInto(acc.data(), in.data(), count, dtype, eccl::reduce::ReduceOp::kSum);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
  state.SetLabel(std::string(eccl::reduce::isaName(isa)) + " " + eccl::reduce::dtypeName(dtype) +
                 " sum");
  (void)eccl::reduce::setIsa(eccl::reduce::bestSupportedIsa());
}

// Only the paths this CPU has.
void reduceArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"isa", "dtype", "bytes"});
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (isa > eccl::reduce::bestSupportedIsa()) continue;
    for (DType dtype : {DType::kF32, DType::kBF16, DType::kF16, DType::kI32}) {
      for (int64_t bytes : {int64_t{4} << 10, int64_t{256} << 10, int64_t{16} << 20}) {
        b->Args({static_cast<int64_t>(isa), static_cast<int64_t>(dtype), bytes});
      }
    }
  }
}
BENCHMARK(BM_ReduceInto)->Apply(reduceArgs);

}  // namespace
