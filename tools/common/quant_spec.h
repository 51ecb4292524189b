// The --quant ALGO:WIRE[:BLOCK] spec of eccl-bench and eccl-peer.
#pragma once

#include <string>
#include <string_view>

#include "src/common/status.h"
#include "src/quant/quant.h"

namespace eccl::tools {

// ALGO minmax or zps (zero_point_scale), WIRE u8, i8, u16, f16 or bf16, BLOCK
// elements per block (default 1024). The config must suit f32 data
// (quant::validate); the error names what is wrong.
Result<quant::QuantConfig> parseQuantSpec(std::string_view spec);
// The spec's canonical text, e.g. "minmax:u8" or "zps:i8:256" (BLOCK only
// when it is not 1024).
std::string quantSpecText(const quant::QuantConfig& config);

}  // namespace eccl::tools
