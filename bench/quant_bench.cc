// Quantization throughput per ISA path: encode, decode and decodeReduce of
// f32 data onto a u8 (minmax) and a bf16 wire. Bytes/s counts the f32 input.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "src/quant/quant.h"
#include "src/reduce/reduce.h"

namespace {

using eccl::quant::QuantAlgo;
using eccl::quant::QuantConfig;
using eccl::quant::WireType;
using eccl::reduce::DType;
using eccl::reduce::Isa;

enum class Stage : int64_t { kEncode = 0, kDecode = 1, kDecodeReduce = 2 };

const char* stageName(Stage stage) {
  switch (stage) {
    case Stage::kEncode:
      return "encode";
    case Stage::kDecode:
      return "decode";
    default:
      return "decode_reduce";
  }
}

std::vector<float> gradients(size_t count) {
  std::mt19937 rng(7);
  std::normal_distribution<float> dist(0.0f, 1e-3f);
  std::vector<float> v(count);
  for (float& x : v)
    x = dist(rng);
  return v;
}

// range(0): ISA, range(1): wire, range(2): stage, range(3): f32 input bytes.
void BM_Quant(benchmark::State& state) {
  const auto isa = static_cast<Isa>(state.range(0));
  const auto wire = static_cast<WireType>(state.range(1));
  const auto stage = static_cast<Stage>(state.range(2));
  const auto bytes = static_cast<size_t>(state.range(3));
  if (!eccl::reduce::setIsa(isa).isOk()) {
    state.SkipWithError("ISA not supported by this CPU");
    return;
  }
  const QuantConfig config{QuantAlgo::kMinMax, wire, 1024};
  const size_t count = bytes / sizeof(float);
  const std::vector<float> src = gradients(count);
  std::vector<unsigned char> encoded(eccl::quant::encodedBytes(config, DType::kF32, count));
  std::vector<float> out(count, 0.0f);
  eccl::quant::encode(config, DType::kF32, src.data(), count, encoded.data());
  for (auto _ : state) {
    switch (stage) {
      case Stage::kEncode:
        eccl::quant::encode(config, DType::kF32, src.data(), count, encoded.data());
        break;
      case Stage::kDecode:
        eccl::quant::decode(config, DType::kF32, encoded.data(), count, out.data());
        break;
      case Stage::kDecodeReduce:
        // kMax keeps acc bounded however long it runs.
        eccl::quant::decodeReduce(config, DType::kF32, eccl::reduce::ReduceOp::kMax, encoded.data(),
                                  count, out.data());
        break;
    }
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
  state.SetLabel(std::string(eccl::reduce::isaName(isa)) + " f32->" + eccl::quant::wireName(wire) +
                 " " + stageName(stage));
  (void)eccl::reduce::setIsa(eccl::reduce::bestSupportedIsa());
}

// Only the paths this CPU has.
void quantArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"isa", "wire", "stage", "bytes"});
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (isa > eccl::reduce::bestSupportedIsa()) continue;
    for (WireType wire : {WireType::kU8, WireType::kBF16}) {
      for (Stage stage : {Stage::kEncode, Stage::kDecode, Stage::kDecodeReduce}) {
        b->Args({static_cast<int64_t>(isa), static_cast<int64_t>(wire), static_cast<int64_t>(stage),
                 int64_t{1} << 20});
      }
    }
  }
}
BENCHMARK(BM_Quant)->Apply(quantArgs);

}  // namespace
