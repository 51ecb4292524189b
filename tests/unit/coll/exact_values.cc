#include "tests/unit/coll/exact_values.h"

#include <xxhash.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "src/reduce/half.h"

namespace eccl::test {

using reduce::DType;
using reduce::ReduceOp;

int64_t exactValue(ReduceOp op, size_t i, int peer, int world) {
  const auto p = static_cast<size_t>(peer);
  switch (op) {
    case ReduceOp::kProd: {
      // No zero: a float product with a negative factor would be -0.
      static constexpr int64_t kFactors[] = {-2, -1, 1, 2};
      return kFactors[(i + 2 * p) % 4];
    }
    case ReduceOp::kMin:
    case ReduceOp::kMax:
      return static_cast<int64_t>((i * 11 + p * 29) % 101);
    case ReduceOp::kAvg: {
      // Offsets that sum to zero: the average is the base, exactly.
      const int64_t base = static_cast<int64_t>(i * 5 % 21) - 10;
      return base + 2 * peer - (world - 1);
    }
    case ReduceOp::kSum:
      break;
  }
  return static_cast<int64_t>((i * 7 + p * 13) % 17) - 8;
}

int64_t exactResult(ReduceOp op, size_t i, int world) {
  int64_t acc = exactValue(op, i, 0, world);
  for (int p = 1; p < world; ++p) {
    const int64_t v = exactValue(op, i, p, world);
    switch (op) {
      case ReduceOp::kSum:
      case ReduceOp::kAvg:
        acc += v;
        break;
      case ReduceOp::kProd:
        acc *= v;
        break;
      case ReduceOp::kMin:
        acc = std::min(acc, v);
        break;
      case ReduceOp::kMax:
        acc = std::max(acc, v);
        break;
    }
  }
  return op == ReduceOp::kAvg ? acc / world : acc;
}

void storeValue(DType dtype, std::vector<uint8_t>& buf, size_t i, int64_t v) {
  auto put = [&](auto x) { std::memcpy(buf.data() + i * sizeof(x), &x, sizeof(x)); };
  switch (dtype) {
    case DType::kI8:
      return put(static_cast<int8_t>(v));
    case DType::kU8:
      return put(static_cast<uint8_t>(v));
    case DType::kI16:
      return put(static_cast<int16_t>(v));
    case DType::kU16:
      return put(static_cast<uint16_t>(v));
    case DType::kI32:
      return put(static_cast<int32_t>(v));
    case DType::kU32:
      return put(static_cast<uint32_t>(v));
    case DType::kI64:
      return put(v);
    case DType::kU64:
      return put(static_cast<uint64_t>(v));
    case DType::kF16:
      return put(reduce::f32ToF16(static_cast<float>(v)));
    case DType::kBF16:
      return put(reduce::f32ToBf16(static_cast<float>(v)));
    case DType::kF32:
      return put(static_cast<float>(v));
    case DType::kF64:
      return put(static_cast<double>(v));
  }
  throw std::logic_error("storeValue: unknown dtype");
}

std::vector<uint8_t> exactBuffer(DType dtype, ReduceOp op, size_t first, size_t count, int peer,
                                 int world, bool expected) {
  std::vector<uint8_t> buf(count * reduce::dtypeSize(dtype));
  for (size_t i = 0; i < count; ++i) {
    storeValue(
        dtype, buf, i,
        expected ? exactResult(op, first + i, world) : exactValue(op, first + i, peer, world));
  }
  return buf;
}

uint64_t bytesHash(const std::vector<uint8_t>& bytes) {
  return XXH3_64bits(bytes.data(), bytes.size());
}

}  // namespace eccl::test
