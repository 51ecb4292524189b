#include "tools/common/quant_spec.h"

#include <charconv>
#include <optional>
#include <utility>

namespace eccl::tools {
namespace {

constexpr uint32_t kDefaultQuantBlock = 1024;

// The names: the short ones first (quantSpecText writes those).
constexpr std::pair<std::string_view, quant::QuantAlgo> kQuantAlgos[] = {
    {"minmax", quant::QuantAlgo::kMinMax},
    {"zps", quant::QuantAlgo::kZeroPointScale},
    {"zero_point_scale", quant::QuantAlgo::kZeroPointScale},
};
constexpr std::pair<std::string_view, quant::WireType> kQuantWires[] = {
    {"u8", quant::WireType::kU8},     {"i8", quant::WireType::kI8},
    {"u16", quant::WireType::kU16},   {"f16", quant::WireType::kF16},
    {"bf16", quant::WireType::kBF16},
};

}  // namespace

Result<quant::QuantConfig> parseQuantSpec(std::string_view spec) {
  auto bad = [&](const std::string& why) {
    return invalidArgument("'" + std::string(spec) + "': " + why +
                           " (ALGO:WIRE[:BLOCK], ALGO minmax|zps, WIRE u8|i8|u16|f16|bf16)");
  };
  const size_t colon = spec.find(':');
  if (colon == std::string_view::npos) return bad("no wire type");
  const std::string_view algo = spec.substr(0, colon);
  std::string_view wire = spec.substr(colon + 1);
  std::optional<std::string_view> block;  // absent: the default
  if (const size_t second = wire.find(':'); second != std::string_view::npos) {
    block = wire.substr(second + 1);
    wire = wire.substr(0, second);
  }
  quant::QuantConfig config{quant::QuantAlgo::kNone, quant::WireType::kU8, kDefaultQuantBlock};
  for (const auto& [name, value] : kQuantAlgos) {
    if (name == algo) config.algo = value;
  }
  if (config.algo == quant::QuantAlgo::kNone) {
    return bad("unknown algorithm '" + std::string(algo) + "'");
  }
  bool known_wire = false;
  for (const auto& [name, value] : kQuantWires) {
    if (name != wire) continue;
    config.wire = value;
    known_wire = true;
  }
  if (!known_wire) return bad("unknown wire type '" + std::string(wire) + "'");
  if (block) {
    const char* last = block->data() + block->size();
    const auto [end, error] = std::from_chars(block->data(), last, config.block_elems);
    if (error != std::errc() || end != last) {
      return bad("block '" + std::string(*block) + "' is not a number");
    }
  }
  if (Status valid = quant::validate(config, reduce::DType::kF32); !valid.isOk()) {
    return bad(valid.message());
  }
  return config;
}

std::string quantSpecText(const quant::QuantConfig& config) {
  std::string text;
  for (const auto& [name, value] : kQuantAlgos) {
    if (value != config.algo) continue;
    text = name;
    break;
  }
  text += ':';
  text += quant::wireName(config.wire);
  if (config.block_elems != kDefaultQuantBlock) text += ':' + std::to_string(config.block_elems);
  return text;
}

}  // namespace eccl::tools
