// Where things sit in an encoded span (quant.h, "Wire layout").
#pragma once

#include <cstddef>

#include "src/quant/quant.h"

namespace eccl::quant {

struct Layout {
  size_t blocks;        // records at the start; 0 for float wires
  size_t record_bytes;  // 2 * sizeof(A)
  size_t stats_bytes;   // blocks * record_bytes: the values start here
  size_t value_bytes;   // per element
};

bool isQuantizable(reduce::DType data);  // f16, bf16, f32, f64
Layout layoutOf(const QuantConfig& config, reduce::DType data, size_t count);

// Aborts with a log line when validate() rejects the config: callers validate
// user input first, so reaching this is a bug in ECCL.
void requireValid(const QuantConfig& config, reduce::DType data, const char* function);

}  // namespace eccl::quant
