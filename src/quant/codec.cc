// encode, decode and decodeReduce: the block loop over the wire layout, with
// the kernels of the active ISA path (reduce::activeIsa(), so ECCL_ISA and
// reduce::setIsa() choose it).
#include <algorithm>
#include <bit>
#include <cstring>

#include "src/quant/block_plan.h"
#include "src/quant/kernel_table.h"
#include "src/quant/layout.h"
#include "src/quant/quant.h"

namespace eccl::quant {
namespace {

// Records are memcpy'd floats: the wire is little-endian only on such hosts.
static_assert(std::endian::native == std::endian::little);

const QuantKernelTable& activeKernels() {
  switch (reduce::activeIsa()) {
#if defined(ECCL_QUANT_X86_SIMD)
    case reduce::Isa::kAvx512:
      return avx512QuantKernels();
    case reduce::Isa::kAvx2:
      return avx2QuantKernels();
#endif
    default:
      return scalarQuantKernels();
  }
}

BlockRecord readRecord(const unsigned char* p, bool f64) {
  if (f64) {
    double v[2];
    std::memcpy(v, p, sizeof(v));
    return {v[0], v[1]};
  }
  float v[2];
  std::memcpy(v, p, sizeof(v));
  return {v[0], v[1]};
}

void writeRecord(unsigned char* p, bool f64, const BlockRecord& record) {
  if (f64) {
    const double v[2] = {record.scale, record.offset};
    std::memcpy(p, v, sizeof(v));
  } else {
    // Exact: the plan computed both in float.
    const float v[2] = {static_cast<float>(record.scale), static_cast<float>(record.offset)};
    std::memcpy(p, v, sizeof(v));
  }
}

// Calls fn(first element, element count, record pointer, values pointer) for
// each block of an integer-wire span.
template <typename Byte, typename Fn>
void forEachBlock(const QuantConfig& config, const Layout& layout, size_t count, Byte* wire,
                  Fn&& fn) {
  Byte* values = wire + layout.stats_bytes;
  for (size_t b = 0; b < layout.blocks; ++b) {
    const size_t first = b * config.block_elems;
    const size_t n = std::min<size_t>(config.block_elems, count - first);
    fn(first, n, wire + b * layout.record_bytes, values + first * layout.value_bytes);
  }
}

}  // namespace

void encode(const QuantConfig& config, reduce::DType data, const void* src, size_t count,
            void* wire) {
  requireValid(config, data, "encode");
  if (count == 0) return;
  const QuantKernelTable& k = activeKernels();
  const int row = dataRow(data);
  if (!isIntWire(config.wire)) {
    k.to_float_wire[row][floatWireRow(config.wire)](src, count, wire);
    return;
  }
  const Layout layout = layoutOf(config, data, count);
  const bool f64 = data == reduce::DType::kF64;
  const auto* in = static_cast<const unsigned char*>(src);
  const size_t data_bytes = reduce::dtypeSize(data);
  forEachBlock(config, layout, count, static_cast<unsigned char*>(wire),
               [&](size_t first, size_t n, unsigned char* record, unsigned char* values) {
                 const unsigned char* x = in + first * data_bytes;
                 const BlockPlan plan =
                     planBlock(config.algo, config.wire, f64, k.range[row](x, n));
                 writeRecord(record, f64, plan.record);
                 if (plan.non_finite) {
                   std::memset(values, 0, n * layout.value_bytes);
                 } else {
                   k.quantize[row][intWireRow(config.wire)](x, n, plan.params, values);
                 }
               });
}

void decode(const QuantConfig& config, reduce::DType data, const void* wire, size_t count,
            void* dst) {
  requireValid(config, data, "decode");
  if (count == 0) return;
  const QuantKernelTable& k = activeKernels();
  const int row = dataRow(data);
  if (!isIntWire(config.wire)) {
    k.from_float_wire[row][floatWireRow(config.wire)](wire, count, dst);
    return;
  }
  const Layout layout = layoutOf(config, data, count);
  const bool f64 = data == reduce::DType::kF64;
  auto* out = static_cast<unsigned char*>(dst);
  const size_t data_bytes = reduce::dtypeSize(data);
  forEachBlock(
      config, layout, count, static_cast<const unsigned char*>(wire),
      [&](size_t first, size_t n, const unsigned char* record, const unsigned char* values) {
        const DequantizeParams params =
            dequantizeParams(config.algo, config.wire, readRecord(record, f64));
        k.dequantize[row][intWireRow(config.wire)](values, n, params, out + first * data_bytes);
      });
}

void decodeReduce(const QuantConfig& config, reduce::DType data, reduce::ReduceOp op,
                  const void* wire, size_t count, void* acc) {
  requireValid(config, data, "decodeReduce");
  if (count == 0) return;
  // Decode a piece into a buffer that stays in L1, then combine it with the
  // reduction kernels themselves: their arithmetic, by construction.
  constexpr size_t kPieceElems = 1024;
  alignas(64) unsigned char piece[kPieceElems * sizeof(double)];
  const QuantKernelTable& k = activeKernels();
  const int row = dataRow(data);
  const size_t data_bytes = reduce::dtypeSize(data);
  auto* out = static_cast<unsigned char*>(acc);
  const auto* in = static_cast<const unsigned char*>(wire);
  if (!isIntWire(config.wire)) {
    const ConvertFn convert = k.from_float_wire[row][floatWireRow(config.wire)];
    for (size_t first = 0; first < count; first += kPieceElems) {
      const size_t n = std::min(kPieceElems, count - first);
      convert(in + first * 2, n, piece);
      reduce::reduceInto(out + first * data_bytes, piece, n, data, op);
    }
    return;
  }
  const Layout layout = layoutOf(config, data, count);
  const bool f64 = data == reduce::DType::kF64;
  const DequantizeFn dequantize = k.dequantize[row][intWireRow(config.wire)];
  forEachBlock(
      config, layout, count, in,
      [&](size_t first, size_t n, const unsigned char* record, const unsigned char* values) {
        const DequantizeParams params =
            dequantizeParams(config.algo, config.wire, readRecord(record, f64));
        for (size_t done = 0; done < n; done += kPieceElems) {
          const size_t m = std::min(kPieceElems, n - done);
          dequantize(values + done * layout.value_bytes, m, params, piece);
          reduce::reduceInto(out + (first + done) * data_bytes, piece, m, data, op);
        }
      });
}

}  // namespace eccl::quant
