// Round trips on the active (best) path: the error bound for every dtype, wire
// and algorithm, rounding to nearest even, no bias, saturation, degenerate and
// non-finite blocks, exact zeros, empty and one-element spans, decodeReduce.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "src/quant/quant.h"
#include "tests/unit/quant/test_data.h"

namespace eccl::quant {
namespace {

using reduce::DType;
using testing::Bytes;
using testing::valueAt;

// Every element of every block within quantErrorBound of its block's extent.
void expectWithinBound(const QuantConfig& config, DType data, const std::vector<double>& values) {
  const Bytes src = testing::toData(data, values);
  const size_t count = values.size();
  const Bytes out = testing::decoded(config, data, testing::encoded(config, data, src), count);
  for (size_t first = 0; first < count; first += config.block_elems) {
    const size_t n = std::min<size_t>(config.block_elems, count - first);
    const BlockExtent extent = testing::extentOf(config, data, src, first, n);
    const double bound = quantErrorBound(config, data, extent);
    for (size_t i = first; i < first + n; ++i) {
      const double x = valueAt(data, src, i), y = valueAt(data, out, i);
      ASSERT_LE(std::fabs(x - y), bound)
          << testing::describe(config, data) << " element " << i << " x=" << x << " y=" << y
          << " range=" << extent.range << " max_abs=" << extent.max_abs;
    }
  }
}

TEST(QuantRoundTrip, ErrorWithinTheBoundForEveryDtypeWireAndAlgorithm) {
  std::mt19937_64 rng(1);
  for (DType data : testing::kDataTypes) {
    for (WireType wire : testing::kWires) {
      for (QuantAlgo algo : testing::kAlgos) {
        for (uint32_t block : {16u, 64u, 1024u}) {
          const QuantConfig config{algo, wire, block};
          // Magnitudes from denormal to large (f16 data and wire stay in range).
          for (double scale : {1e-40, 1e-30, 1e-6, 1.0, 1e4, 1e30}) {
            if ((data == DType::kF16 || wire == WireType::kF16) && (scale > 1e4)) continue;
            expectWithinBound(config, data, testing::uniform(1000, -scale, scale, rng));
            expectWithinBound(config, data, testing::uniform(333, scale, 3 * scale, rng));
            expectWithinBound(config, data, testing::uniform(77, -scale, -0.5 * scale, rng));
          }
        }
      }
    }
  }
}

TEST(QuantRoundTrip, U8ErrorIsAtMostHalfALevel) {
  std::mt19937_64 rng(2);
  const std::vector<double> values = testing::uniform(4096, -3.0, 5.0, rng);
  const QuantConfig config{QuantAlgo::kMinMax, WireType::kU8, 256};
  const Bytes src = testing::toData(DType::kF32, values);
  const Bytes out = testing::decoded(config, DType::kF32,
                                     testing::encoded(config, DType::kF32, src), values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    const BlockExtent e = testing::extentOf(config, DType::kF32, src, i / 256 * 256, 256);
    EXPECT_LE(std::fabs(valueAt(DType::kF32, src, i) - valueAt(DType::kF32, out, i)),
              e.range / 255 / 2 * (1 + 1e-5))
        << i;
  }
}

// Levels 1 apart: 0 and 255 fix scale = inv = 1 (minmax u8), -128 and 127 fix
// scale 1 and zero point 0 (zero_point_scale i8).
TEST(QuantRoundTrip, HalfwayValuesRoundToTheEvenLevel) {
  const std::vector<double> minmax_in = {0,   255, 0.5, 1.5, 2.5,  3.5,   100.5, 101.5,
                                         7.5, 8.5, 9.4, 9.6, 10.5, 254.5, 253.5, 11.5};
  const std::vector<double> minmax_out = {0, 255, 0, 2,  2,  4,   100, 102,
                                          8, 8,   9, 10, 10, 254, 254, 12};
  const QuantConfig minmax{QuantAlgo::kMinMax, WireType::kU8, 16};
  Bytes out = testing::decoded(
      minmax, DType::kF32,
      testing::encoded(minmax, DType::kF32, testing::toData(DType::kF32, minmax_in)), 16);
  for (size_t i = 0; i < 16; ++i)
    EXPECT_EQ(valueAt(DType::kF32, out, i), minmax_out[i]) << minmax_in[i];

  const std::vector<double> zp_in = {-128, 127,  0.5,   1.5,    -0.5, -1.5, -2.5, 2.5,
                                     3.5,  -3.5, 126.5, -127.5, 0,    4.5,  5.5,  -6.5};
  const std::vector<double> zp_out = {-128, 127, 0, 2, 0, -2, -2, 2, 4, -4, 126, -128, 0, 4, 6, -6};
  const QuantConfig zero_point{QuantAlgo::kZeroPointScale, WireType::kI8, 16};
  out = testing::decoded(
      zero_point, DType::kF32,
      testing::encoded(zero_point, DType::kF32, testing::toData(DType::kF32, zp_in)), 16);
  for (size_t i = 0; i < 16; ++i)
    EXPECT_EQ(valueAt(DType::kF32, out, i), zp_out[i]) << zp_in[i];
}

// Truncation would shift the mean by half a level (range/510 for u8).
TEST(QuantRoundTrip, MeanErrorOfUniformValuesIsNearZero) {
  std::mt19937_64 rng(3);
  const size_t count = 1'000'000;
  for (QuantAlgo algo : testing::kAlgos) {
    const std::vector<double> values = testing::uniform(count, -1.0, 1.0, rng);
    const QuantConfig config{algo, WireType::kU8, 1024};
    const Bytes src = testing::toData(DType::kF32, values);
    const Bytes out =
        testing::decoded(config, DType::kF32, testing::encoded(config, DType::kF32, src), count);
    double sum = 0;
    for (size_t i = 0; i < count; ++i)
      sum += valueAt(DType::kF32, out, i) - valueAt(DType::kF32, src, i);
    EXPECT_LT(std::fabs(sum / count), 1e-4 * 2.0) << algoName(algo);  // range 2
  }
}

TEST(QuantRoundTrip, ExtremesSaturateAtTheEndsAndLevelsAreMonotone) {
  std::mt19937_64 rng(4);
  for (WireType wire : testing::kIntWires) {
    for (QuantAlgo algo : testing::kAlgos) {
      std::vector<double> values = testing::uniform(64, -7.0, 9.0, rng);
      std::sort(values.begin(), values.end());
      const QuantConfig config{algo, wire, 64};
      const Bytes wire_bytes =
          testing::encoded(config, DType::kF32, testing::toData(DType::kF32, values));
      std::vector<int> q(64);
      for (size_t i = 0; i < 64; ++i) {
        if (wire == WireType::kU16) {
          uint16_t v;
          std::memcpy(&v, &wire_bytes[8 + 2 * i], 2);
          q[i] = v;
        } else {
          q[i] = wire == WireType::kI8 ? static_cast<int8_t>(wire_bytes[8 + i]) : wire_bytes[8 + i];
        }
        if (i > 0) {
          EXPECT_LE(q[i - 1], q[i]) << wireName(wire) << " " << i;
        }
      }
      const int qmin = wire == WireType::kI8 ? -128 : 0;
      const int qmax = wire == WireType::kI8 ? 127 : wire == WireType::kU8 ? 255 : 65535;
      EXPECT_EQ(q.front(), qmin) << wireName(wire) << " " << algoName(algo);
      // The zero point's rounding may leave the top level one short.
      EXPECT_GE(q.back(), algo == QuantAlgo::kMinMax ? qmax : qmax - 1) << wireName(wire);
    }
  }
}

TEST(QuantRoundTrip, ConstantAndTinyRangeBlocksDecodeToTheirMinimum) {
  for (DType data : testing::kDataTypes) {
    for (WireType wire : testing::kIntWires) {
      const QuantConfig config{QuantAlgo::kMinMax, wire, 16};
      std::vector<double> values(40, 3.25);
      for (size_t i = 16; i < 32; ++i)
        values[i] = -0.75;
      const Bytes out = testing::decoded(
          config, data, testing::encoded(config, data, testing::toData(data, values)), 40);
      for (size_t i = 0; i < 40; ++i)
        EXPECT_EQ(valueAt(data, out, i), values[i]) << testing::describe(config, data);
    }
  }
  // A range below 2^-100 is degenerate: every element decodes as the minimum.
  const QuantConfig config{QuantAlgo::kMinMax, WireType::kU8, 16};
  std::vector<double> values(16, 1e-35);
  values[3] = 1e-36;
  const Bytes out = testing::decoded(
      config, DType::kF32,
      testing::encoded(config, DType::kF32, testing::toData(DType::kF32, values)), 16);
  for (size_t i = 0; i < 16; ++i)
    EXPECT_EQ(valueAt(DType::kF32, out, i), static_cast<float>(1e-36));
}

TEST(QuantRoundTrip, ZeroPointScaleKeepsZerosExact) {
  std::mt19937_64 rng(5);
  for (DType data : testing::kDataTypes) {
    for (WireType wire : testing::kIntWires) {
      const QuantConfig config{QuantAlgo::kZeroPointScale, wire, 32};
      // Blocks straddling zero, all positive, all negative, each half zeros.
      std::vector<double> values = testing::uniform(32, -2.0, 3.0, rng);
      const std::vector<double> pos = testing::uniform(32, 0.5, 3.0, rng);
      const std::vector<double> neg = testing::uniform(31, -3.0, -0.5, rng);
      values.insert(values.end(), pos.begin(), pos.end());
      values.insert(values.end(), neg.begin(), neg.end());
      for (size_t i = 0; i < values.size(); i += 2)
        values[i] = (i % 4 == 0) ? 0.0 : -0.0;
      const Bytes out = testing::decoded(
          config, data, testing::encoded(config, data, testing::toData(data, values)),
          values.size());
      for (size_t i = 0; i < values.size(); i += 2)
        EXPECT_EQ(testing::bitsAt(data, out, i), 0u) << testing::describe(config, data) << " " << i;
    }
  }
}

TEST(QuantRoundTrip, NonFiniteBlocksDecodeAsCanonicalNan) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (DType data : testing::kDataTypes) {
    const double huge = data == DType::kF64 ? 1.7e308 : 3e38;
    for (WireType wire : testing::kIntWires) {
      for (QuantAlgo algo : testing::kAlgos) {
        const QuantConfig config{algo, wire, 16};
        for (int poison = 0; poison < 4; ++poison) {
          std::vector<double> values(40, 1.5);
          values[20] = poison == 0 ? nan : poison == 1 ? inf : poison == 2 ? -inf : huge;
          if (poison == 3) {
            if (data == DType::kF16) continue;  // no f16 range overflows f32
            values[21] = -huge;
          }
          const Bytes wire_bytes = testing::encoded(config, data, testing::toData(data, values));
          const size_t record = data == DType::kF64 ? 16 : 8;
          const size_t value_bytes = wire == WireType::kU16 ? 2 : 1;
          // Block 1's record is { NaN, NaN }, canonical in the accumulation type.
          const uint64_t nan_bits = record == 16 ? 0x7FF8000000000000u : 0x7FC00000u;
          for (size_t field = 0; field < 2; ++field) {
            uint64_t bits = 0;
            std::memcpy(&bits, &wire_bytes[record + field * record / 2], record / 2);
            EXPECT_EQ(bits, nan_bits) << testing::describe(config, data);
          }
          for (size_t i = 16; i < 32; ++i) {
            for (size_t b = 0; b < value_bytes; ++b)
              EXPECT_EQ(wire_bytes[3 * record + i * value_bytes + b], 0);
          }
          const Bytes out = testing::decoded(config, data, wire_bytes, 40);
          for (size_t i = 0; i < 40; ++i) {
            const bool poisoned = i >= 16 && i < 32;
            if (poisoned) {
              EXPECT_TRUE(testing::isCanonicalNan(data, testing::bitsAt(data, out, i)))
                  << testing::describe(config, data) << " poison " << poison << " element " << i;
            } else {
              EXPECT_NEAR(valueAt(data, out, i), 1.5, 1e-2) << testing::describe(config, data);
            }
          }
        }
      }
    }
  }
}

TEST(QuantRoundTrip, FloatWiresKeepInfinitiesAndCanonicaliseNans) {
  for (DType data : testing::kDataTypes) {
    for (WireType wire : {WireType::kF16, WireType::kBF16}) {
      const QuantConfig config{QuantAlgo::kMinMax, wire, 16};
      Bytes src = testing::toData(data, {std::numeric_limits<double>::infinity(),
                                         -std::numeric_limits<double>::infinity(), 1.0, 0.0});
      // A NaN with a payload and the sign set.
      const uint64_t payload_nan = data == DType::kF64   ? 0xFFF4000000000123u
                                   : data == DType::kF32 ? 0xFFA00123u
                                   : data == DType::kF16 ? 0xFD01u
                                                         : 0xFFA1u;
      const size_t size = reduce::dtypeSize(data);
      src.resize(src.size() + size);
      std::memcpy(src.data() + 4 * size, &payload_nan, size);
      const Bytes out = testing::decoded(config, data, testing::encoded(config, data, src), 5);
      EXPECT_EQ(valueAt(data, out, 0), std::numeric_limits<double>::infinity());
      EXPECT_EQ(valueAt(data, out, 1), -std::numeric_limits<double>::infinity());
      EXPECT_EQ(valueAt(data, out, 2), 1.0);
      EXPECT_TRUE(testing::isCanonicalNan(data, testing::bitsAt(data, out, 4)))
          << testing::describe(config, data);
    }
  }
}

TEST(QuantRoundTrip, HalfDataOnItsOwnWireIsLossless) {
  std::mt19937_64 rng(6);
  for (auto [data, wire] :
       {std::pair{DType::kF16, WireType::kF16}, std::pair{DType::kBF16, WireType::kBF16}}) {
    const QuantConfig config{QuantAlgo::kMinMax, wire, 16};
    Bytes src(2 * 4096);
    for (size_t i = 0; i < 4096; ++i) {
      uint16_t h = static_cast<uint16_t>(rng());
      const bool is_nan = data == DType::kF16 ? (h & 0x7C00) == 0x7C00 && (h & 0x3FF) != 0
                                              : (h & 0x7F80) == 0x7F80 && (h & 0x7F) != 0;
      if (is_nan) h = static_cast<uint16_t>(i);
      std::memcpy(&src[2 * i], &h, 2);
    }
    EXPECT_EQ(testing::decoded(config, data, testing::encoded(config, data, src), 4096), src);
  }
}

TEST(QuantRoundTrip, EmptySpanWritesNothingAndOneElementRoundTrips) {
  for (DType data : testing::kDataTypes) {
    for (WireType wire : testing::kWires) {
      for (QuantAlgo algo : testing::kAlgos) {
        const QuantConfig config{algo, wire, 16};
        unsigned char guard[16];
        std::memset(guard, 0xA5, sizeof(guard));
        encode(config, data, guard, 0, guard);
        decode(config, data, guard, 0, guard);
        decodeReduce(config, data, reduce::ReduceOp::kSum, guard, 0, guard);
        for (unsigned char c : guard)
          ASSERT_EQ(c, 0xA5);
        const Bytes src = testing::toData(data, {-2.5});
        const Bytes out = testing::decoded(config, data, testing::encoded(config, data, src), 1);
        const double bound =
            quantErrorBound(config, data, testing::extentOf(config, data, src, 0, 1));
        EXPECT_LE(std::fabs(valueAt(data, out, 0) + 2.5), bound) << testing::describe(config, data);
        const bool int_wire =
            wire == WireType::kU8 || wire == WireType::kI8 || wire == WireType::kU16;
        if (algo == QuantAlgo::kMinMax && int_wire) {
          EXPECT_EQ(valueAt(data, out, 0), -2.5);  // a one-element block is constant
        }
      }
    }
  }
}

TEST(QuantRoundTrip, DecodeReduceIsDecodeThenReduceInto) {
  std::mt19937_64 rng(7);
  for (DType data : testing::kDataTypes) {
    for (WireType wire : testing::kWires) {
      for (QuantAlgo algo : testing::kAlgos) {
        const QuantConfig config{algo, wire, 48};
        const size_t count = 3000;  // several 1024-element pieces, a partial block
        const Bytes wire_bytes = testing::encoded(
            config, data, testing::toData(data, testing::hardValues(data, count, 48, rng)));
        const Bytes acc0 = testing::toData(data, testing::hardValues(data, count, 48, rng));
        const Bytes decoded = testing::decoded(config, data, wire_bytes, count);
        for (int op = 0; op < reduce::kNumReduceOps; ++op) {
          Bytes expected = acc0, acc = acc0;
          reduce::reduceInto(expected.data(), decoded.data(), count, data,
                             static_cast<reduce::ReduceOp>(op));
          decodeReduce(config, data, static_cast<reduce::ReduceOp>(op), wire_bytes.data(), count,
                       acc.data());
          EXPECT_EQ(acc, expected) << testing::describe(config, data) << " op " << op;
        }
      }
    }
  }
}

}  // namespace
}  // namespace eccl::quant
