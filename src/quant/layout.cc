#include "src/quant/layout.h"

#include <cstdlib>

#include "src/common/log.h"
#include "src/quant/kernel_table.h"

namespace eccl::quant {

bool isQuantizable(reduce::DType data) {
  return data == reduce::DType::kF16 || data == reduce::DType::kBF16 ||
         data == reduce::DType::kF32 || data == reduce::DType::kF64;
}

Layout layoutOf(const QuantConfig& config, reduce::DType data, size_t count) {
  if (!isIntWire(config.wire)) return {0, 0, 0, 2};
  const size_t blocks = (count + config.block_elems - 1) / config.block_elems;
  const size_t record_bytes = data == reduce::DType::kF64 ? 16 : 8;
  const size_t value_bytes = config.wire == WireType::kU16 ? 2 : 1;
  return {blocks, record_bytes, blocks * record_bytes, value_bytes};
}

void requireValid(const QuantConfig& config, reduce::DType data, const char* function) {
  const Status status = validate(config, data);
  if (status.isOk()) return;
  ECCL_LOG_ERROR("quant::{}: {}", function, status.message());
  std::abort();
}

}  // namespace eccl::quant
