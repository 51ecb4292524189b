// validate() messages, encodedBytes() and the byte-exact wire layout.
#include <gtest/gtest.h>

#include <bit>
#include <cstring>
#include <string>
#include <vector>

#include "src/quant/quant.h"
#include "tests/unit/quant/test_data.h"

namespace eccl::quant {
namespace {

using reduce::DType;
using testing::Bytes;

void expectRejected(const QuantConfig& config, DType data, const std::string& fragment) {
  const Status status = validate(config, data);
  EXPECT_EQ(status.code(), Code::kInvalidArgument) << testing::describe(config, data);
  EXPECT_NE(status.message().find(fragment), std::string::npos) << status.message();
}

TEST(QuantConfig, AcceptsEveryFloatDtypeWireAndAlgorithm) {
  for (DType data : testing::kDataTypes) {
    for (WireType wire : testing::kWires) {
      for (QuantAlgo algo : testing::kAlgos) {
        const QuantConfig config{algo, wire, 1024};
        EXPECT_TRUE(validate(config, data).isOk()) << testing::describe(config, data);
      }
    }
  }
}

TEST(QuantConfig, RejectsAlgorithmNoneAndUnknownEnums) {
  expectRejected({QuantAlgo::kNone, WireType::kU8, 64}, DType::kF32, "'none'");
  expectRejected({static_cast<QuantAlgo>(3), WireType::kU8, 64}, DType::kF32,
                 "unknown algorithm 3");
  expectRejected({QuantAlgo::kMinMax, static_cast<WireType>(5), 64}, DType::kF32,
                 "unknown wire type 5");
}

TEST(QuantConfig, RejectsIntegerData) {
  for (DType data : {DType::kI8, DType::kU8, DType::kI32, DType::kI64, DType::kU64}) {
    expectRejected({QuantAlgo::kMinMax, WireType::kU8, 64}, data, "floating-point data");
    expectRejected({QuantAlgo::kMinMax, WireType::kU8, 64}, data, reduce::dtypeName(data));
  }
  expectRejected({QuantAlgo::kMinMax, WireType::kU8, 64}, static_cast<DType>(40), "unknown");
}

TEST(QuantConfig, RejectsBlockSizesOutOfRangeOrNotMultiplesOf16) {
  for (uint32_t block : {0u, 8u, 17u, 100u, (1u << 20) + 16, 1u << 21}) {
    expectRejected({QuantAlgo::kMinMax, WireType::kU8, block}, DType::kF32,
                   "block_elems " + std::to_string(block));
  }
  for (uint32_t block : {16u, 32u, 1008u, 1u << 20}) {
    EXPECT_TRUE(validate({QuantAlgo::kMinMax, WireType::kU8, block}, DType::kF32).isOk());
  }
}

TEST(QuantConfig, EncodedBytesCountsRecordsOfPartialBlocks) {
  const QuantConfig u8{QuantAlgo::kMinMax, WireType::kU8, 16};
  EXPECT_EQ(encodedBytes(u8, DType::kF32, 0), 0u);
  EXPECT_EQ(encodedBytes(u8, DType::kF32, 1), 8u + 1);
  EXPECT_EQ(encodedBytes(u8, DType::kF32, 16), 8u + 16);
  EXPECT_EQ(encodedBytes(u8, DType::kF32, 17), 16u + 17);
  EXPECT_EQ(encodedBytes(u8, DType::kBF16, 17), 16u + 17);  // f32 statistics
  EXPECT_EQ(encodedBytes(u8, DType::kF64, 17), 32u + 17);   // f64 statistics
  const QuantConfig u16{QuantAlgo::kZeroPointScale, WireType::kU16, 32};
  EXPECT_EQ(encodedBytes(u16, DType::kF64, 65), 3u * 16 + 130);
  EXPECT_EQ(encodedBytes(u16, DType::kF16, 64), 2u * 8 + 128);
  for (WireType wire : {WireType::kF16, WireType::kBF16}) {
    EXPECT_EQ(encodedBytes({QuantAlgo::kMinMax, wire, 16}, DType::kF64, 5), 10u);
    EXPECT_EQ(encodedBytes({QuantAlgo::kMinMax, wire, 16}, DType::kF32, 0), 0u);
  }
}

float floatAt(const Bytes& bytes, size_t offset) {
  float f;
  std::memcpy(&f, bytes.data() + offset, 4);
  return f;
}

// Records first (one per block), then the values, as quant.h spells out.
TEST(QuantConfig, MinMaxLayoutIsRecordsThenValues) {
  std::vector<double> values(20);
  for (size_t i = 0; i < 16; ++i)
    values[i] = static_cast<double>(i) * 17;  // 0..255 in steps of 17: scale 1
  for (size_t i = 16; i < 20; ++i)
    values[i] = -2.0 + static_cast<double>(i - 16);  // -2, -1, 0, 1
  const QuantConfig config{QuantAlgo::kMinMax, WireType::kU8, 16};
  const Bytes wire = testing::encoded(config, DType::kF32, testing::toData(DType::kF32, values));
  ASSERT_EQ(wire.size(), 2u * 8 + 20);
  EXPECT_EQ(floatAt(wire, 0), 1.0f);  // block 0 scale
  EXPECT_EQ(floatAt(wire, 4), 0.0f);  // block 0 min
  EXPECT_EQ(floatAt(wire, 8), 3.0f / 255.0f);
  EXPECT_EQ(floatAt(wire, 12), -2.0f);
  for (size_t i = 0; i < 16; ++i)
    EXPECT_EQ(wire[16 + i], i * 17) << i;
  EXPECT_EQ(wire[16 + 16], 0);
  EXPECT_EQ(wire[16 + 19], 255);
}

TEST(QuantConfig, ZeroPointRecordHoldsAnIntegerZeroPoint) {
  std::vector<double> values(16, 0.0);
  values[0] = -1.0;
  values[1] = 3.0;
  const QuantConfig config{QuantAlgo::kZeroPointScale, WireType::kI8, 16};
  const Bytes wire = testing::encoded(config, DType::kF32, testing::toData(DType::kF32, values));
  ASSERT_EQ(wire.size(), 8u + 16);
  EXPECT_EQ(floatAt(wire, 0), 4.0f / 255.0f);
  // zp = -128 + rne(1 / (4 / 255)) = -128 + 64
  EXPECT_EQ(floatAt(wire, 4), -64.0f);
  EXPECT_EQ(static_cast<int8_t>(wire[8 + 0]), -128);
  EXPECT_EQ(static_cast<int8_t>(wire[8 + 1]), 127);
  EXPECT_EQ(static_cast<int8_t>(wire[8 + 2]), -64);  // zero is the zero point
}

TEST(QuantConfig, FloatWiresAreTheValuesAlone) {
  const Bytes data = testing::toData(DType::kF32, {1.0, -2.0, 0.5});
  const Bytes wire = testing::encoded({QuantAlgo::kMinMax, WireType::kBF16, 16}, DType::kF32, data);
  const std::vector<unsigned char> expected = {0x80, 0x3F, 0x00, 0xC0, 0x00, 0x3F};
  EXPECT_EQ(wire, expected);
}

}  // namespace
}  // namespace eccl::quant
