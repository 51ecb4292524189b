// finishAverage: integer division truncating toward zero, floats divided once,
// f16/bf16 through f32.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "src/reduce/half.h"
#include "src/reduce/reduce.h"

namespace eccl::reduce {
namespace {

template <typename T>
std::vector<T> average(DType dtype, std::vector<T> data, uint32_t peers) {
  finishAverage(data.data(), data.size(), dtype, peers);
  return data;
}

TEST(FinishAverage, IntegersTruncateTowardZero) {
  EXPECT_EQ(average<int32_t>(DType::kI32, {7, -7, 6, -1, 0}, 2),
            (std::vector<int32_t>{3, -3, 3, 0, 0}));
  EXPECT_EQ(average<int8_t>(DType::kI8, {-128, 127, -5}, 3), (std::vector<int8_t>{-42, 42, -1}));
  EXPECT_EQ(average<uint8_t>(DType::kU8, {255, 10}, 4), (std::vector<uint8_t>{63, 2}));
  EXPECT_EQ(average<int16_t>(DType::kI16, {-32768, 32767}, 7), (std::vector<int16_t>{-4681, 4681}));
  EXPECT_EQ(average<uint16_t>(DType::kU16, {65535}, 2), (std::vector<uint16_t>{32767}));
  EXPECT_EQ(average<uint32_t>(DType::kU32, {0xFFFFFFFFu}, 0xFFFFFFFFu), (std::vector<uint32_t>{1}));
  EXPECT_EQ(average<int64_t>(DType::kI64, {std::numeric_limits<int64_t>::min(), -9}, 4),
            (std::vector<int64_t>{std::numeric_limits<int64_t>::min() / 4, -2}));
  EXPECT_EQ(average<uint64_t>(DType::kU64, {~uint64_t{0}}, 3),
            (std::vector<uint64_t>{~uint64_t{0} / 3}));
}

TEST(FinishAverage, FloatsDivideOnce) {
  EXPECT_EQ(average<float>(DType::kF32, {7.0f, -1.0f, 0.1f}, 2),
            (std::vector<float>{3.5f, -0.5f, 0.1f / 2.0f}));
  EXPECT_EQ(average<double>(DType::kF64, {1.0, 10.0}, 3),
            (std::vector<double>{1.0 / 3.0, 10.0 / 3.0}));
  // f16: 1/3 rounds to the nearest f16, 0x3555.
  EXPECT_EQ(average<uint16_t>(DType::kF16, {f32ToF16(1.0f), f32ToF16(6.0f)}, 3),
            (std::vector<uint16_t>{0x3555, f32ToF16(2.0f)}));
  EXPECT_EQ(average<uint16_t>(DType::kBF16, {f32ToBf16(1.0f), f32ToBf16(-8.0f)}, 3),
            (std::vector<uint16_t>{f32ToBf16(1.0f / 3.0f), f32ToBf16(-8.0f / 3.0f)}));
}

TEST(FinishAverage, OnePeerAndEmptyAreNoOps) {
  EXPECT_EQ(average<int32_t>(DType::kI32, {-7, 9}, 1), (std::vector<int32_t>{-7, 9}));
  finishAverage(nullptr, 0, DType::kF32, 4);
}

TEST(FinishAverage, UnalignedData) {
  std::vector<unsigned char> bytes(1 + 3 * sizeof(double));
  const double values[] = {3.0, 9.0, -6.0};
  std::memcpy(bytes.data() + 1, values, sizeof values);
  finishAverage(bytes.data() + 1, 3, DType::kF64, 3);
  double out[3];
  std::memcpy(out, bytes.data() + 1, sizeof out);
  EXPECT_EQ(out[0], 1.0);
  EXPECT_EQ(out[1], 3.0);
  EXPECT_EQ(out[2], -2.0);
}

}  // namespace
}  // namespace eccl::reduce
