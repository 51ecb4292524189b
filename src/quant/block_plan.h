// From a block's min/max to its wire record and kernel parameters: the one
// place where quant.h's per-block formulas are evaluated, in baseline code, so
// that every ISA path quantizes with the very same scale, inv and zero point.
#pragma once

#include "src/quant/kernel_table.h"

namespace eccl::quant {

// The record as sent: { scale, offset } (offset = min for kMinMax, the zero
// point for kZeroPointScale), in the accumulation type (held exactly in double).
struct BlockRecord {
  double scale;
  double offset;
};

struct BlockPlan {
  bool non_finite;  // record is { NaN, NaN } and every value is 0
  BlockRecord record;
  QuantizeParams params;
};

// accumulation_is_f64: the data dtype is f64 (A = double), else A = float.
BlockPlan planBlock(QuantAlgo algo, WireType wire, bool accumulation_is_f64,
                    const BlockRange& range);

// The parameters that decode a block from its record (NaN in, NaN out).
DequantizeParams dequantizeParams(QuantAlgo algo, WireType wire, const BlockRecord& record);

}  // namespace eccl::quant
