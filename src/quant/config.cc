// Config checks, names and the wire size: everything about a QuantConfig that
// does not touch element data.
#include <string>

#include "src/quant/layout.h"
#include "src/quant/quant.h"

namespace eccl::quant {

bool isValid(QuantAlgo algo) {
  return static_cast<int>(algo) <= static_cast<int>(QuantAlgo::kZeroPointScale);
}

bool isValid(WireType wire) {
  return static_cast<int>(wire) <= static_cast<int>(WireType::kBF16);
}

const char* algoName(QuantAlgo algo) {
  switch (algo) {
    case QuantAlgo::kNone:
      return "none";
    case QuantAlgo::kMinMax:
      return "minmax";
    case QuantAlgo::kZeroPointScale:
      return "zero_point_scale";
  }
  return "unknown";
}

const char* wireName(WireType wire) {
  switch (wire) {
    case WireType::kU8:
      return "u8";
    case WireType::kI8:
      return "i8";
    case WireType::kU16:
      return "u16";
    case WireType::kF16:
      return "f16";
    case WireType::kBF16:
      return "bf16";
  }
  return "unknown";
}

Status validate(const QuantConfig& config, reduce::DType data) {
  const auto algo = static_cast<int>(config.algo);
  const auto wire = static_cast<int>(config.wire);
  if (config.algo == QuantAlgo::kNone) {
    return invalidArgument(
        "quantization: algorithm 'none' has no encoding; use minmax or zero_point_scale");
  }
  if (!isValid(config.algo)) {
    return invalidArgument("quantization: unknown algorithm " + std::to_string(algo));
  }
  if (!isValid(config.wire)) {
    return invalidArgument("quantization: unknown wire type " + std::to_string(wire));
  }
  if (!isQuantizable(data)) {
    const std::string name = reduce::isValid(data) ? reduce::dtypeName(data) : "unknown";
    return invalidArgument("quantization needs floating-point data (f32, f64, f16, bf16), not " +
                           name + " (wire " + wireName(config.wire) + ")");
  }
  if (config.block_elems < kMinBlockElems || config.block_elems > kMaxBlockElems ||
      config.block_elems % kBlockElemsMultiple != 0) {
    return invalidArgument("quantization: block_elems " + std::to_string(config.block_elems) +
                           " must be a multiple of " + std::to_string(kBlockElemsMultiple) +
                           " in [" + std::to_string(kMinBlockElems) + ", " +
                           std::to_string(kMaxBlockElems) + "]");
  }
  return Status::ok();
}

size_t encodedBytes(const QuantConfig& config, reduce::DType data, size_t count) {
  requireValid(config, data, "encodedBytes");
  const Layout layout = layoutOf(config, data, count);
  return layout.stats_bytes + count * layout.value_bytes;
}

}  // namespace eccl::quant
