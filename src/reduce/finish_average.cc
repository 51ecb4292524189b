// The division that turns a sum into an average, once, after the last combine.
#include <cstdint>
#include <cstdlib>

#include "src/common/log.h"
#include "src/reduce/reduce.h"
#include "src/reduce/scalar_ops.h"

namespace eccl::reduce {
namespace {

template <typename T>
void divideInts(void* data, size_t count, uint32_t peers) {
  // In T's own signedness: / truncates toward zero; peers fits every T >= 32
  // bits, and the quotient of a narrower T always fits back.
  using Wide = std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>;
  const auto divisor = static_cast<Wide>(peers);
  for (size_t i = 0; i < count; ++i) {
    scalar::store<T>(data, i,
                     static_cast<T>(static_cast<Wide>(scalar::load<T>(data, i)) / divisor));
  }
}

template <typename F>
void divideFloats(void* data, size_t count, uint32_t peers) {
  const auto divisor = static_cast<F>(peers);
  for (size_t i = 0; i < count; ++i)
    scalar::store<F>(data, i, scalar::load<F>(data, i) / divisor);
}

template <uint16_t (*Narrow)(float), float (*Widen)(uint16_t)>
void divideHalves(void* data, size_t count, uint32_t peers) {
  const auto divisor = static_cast<float>(peers);
  for (size_t i = 0; i < count; ++i) {
    scalar::store<uint16_t>(data, i, Narrow(Widen(scalar::load<uint16_t>(data, i)) / divisor));
  }
}

}  // namespace

void finishAverage(void* data, size_t count, DType dtype, uint32_t peers) {
  if (count == 0 || peers == 1) return;
  if (peers == 0 || !isValid(dtype)) {
    ECCL_LOG_ERROR("finishAverage: invalid dtype {} or zero peers", static_cast<int>(dtype));
    std::abort();
  }
  switch (dtype) {
    case DType::kI8:
      return divideInts<int8_t>(data, count, peers);
    case DType::kU8:
      return divideInts<uint8_t>(data, count, peers);
    case DType::kI16:
      return divideInts<int16_t>(data, count, peers);
    case DType::kU16:
      return divideInts<uint16_t>(data, count, peers);
    case DType::kI32:
      return divideInts<int32_t>(data, count, peers);
    case DType::kU32:
      return divideInts<uint32_t>(data, count, peers);
    case DType::kI64:
      return divideInts<int64_t>(data, count, peers);
    case DType::kU64:
      return divideInts<uint64_t>(data, count, peers);
    case DType::kF16:
      return divideHalves<f32ToF16, f16ToF32>(data, count, peers);
    case DType::kBF16:
      return divideHalves<f32ToBf16, bf16ToF32>(data, count, peers);
    case DType::kF32:
      return divideFloats<float>(data, count, peers);
    case DType::kF64:
      return divideFloats<double>(data, count, peers);
  }
}

}  // namespace eccl::reduce
