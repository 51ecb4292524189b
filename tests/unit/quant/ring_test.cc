// A ring all-reduce simulated in one process: the reduce-scatter forwards the
// partial sum of one chunk through N peers, re-quantizing it at each of the
// N - 1 hops (encode -> decodeReduce into the next peer's own values), then the
// owner quantizes the final sum once and every peer decodes those bytes. The
// error against the exact sum stays within ringErrorBound, and the result is
// the same bytes on every peer and on every ISA path.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "src/quant/quant.h"
#include "tests/unit/quant/test_data.h"

namespace eccl::quant {
namespace {

using reduce::DType;
using testing::Bytes;
using testing::valueAt;

constexpr size_t kCount = 1000;
constexpr uint32_t kBlock = 64;

struct RingOutcome {
  Bytes final_wire;
  std::vector<Bytes> outputs;                   // per peer
  std::vector<std::vector<BlockExtent>> steps;  // per block: the N quantizations
};

RingOutcome simulateRing(const QuantConfig& config, DType data, const std::vector<Bytes>& inputs) {
  const size_t blocks = (kCount + kBlock - 1) / kBlock;
  RingOutcome outcome;
  outcome.steps.resize(blocks);
  auto recordExtents = [&](const Bytes& partial) {
    for (size_t b = 0; b < blocks; ++b) {
      const size_t first = b * kBlock;
      outcome.steps[b].push_back(testing::extentOf(config, data, partial, first,
                                                   std::min<size_t>(kBlock, kCount - first)));
    }
  };
  Bytes partial = inputs[0];
  for (size_t hop = 1; hop < inputs.size(); ++hop) {
    recordExtents(partial);
    const Bytes wire = testing::encoded(config, data, partial);  // sent to the next peer
    partial = inputs[hop];
    decodeReduce(config, data, reduce::ReduceOp::kSum, wire.data(), kCount, partial.data());
  }
  recordExtents(partial);
  outcome.final_wire = testing::encoded(config, data, partial);  // the owner, once
  for (size_t peer = 0; peer < inputs.size(); ++peer)
    outcome.outputs.push_back(testing::decoded(config, data, outcome.final_wire, kCount));
  return outcome;
}

TEST(QuantRing, ErrorWithinTheRingBoundAndSameBytesOnEveryPeerAndPath) {
  std::mt19937_64 rng(21);
  for (DType data : testing::kDataTypes) {
    for (WireType wire : testing::kWires) {
      for (QuantAlgo algo : testing::kAlgos) {
        const QuantConfig config{algo, wire, kBlock};
        for (uint32_t peers = 2; peers <= 8; ++peers) {
          std::vector<Bytes> inputs;
          double max_abs = 0;
          for (uint32_t p = 0; p < peers; ++p) {
            const double scale = 1.0 + p;  // peers differ in magnitude
            inputs.push_back(testing::toData(data, testing::uniform(kCount, -scale, scale, rng)));
            for (size_t i = 0; i < kCount; ++i)
              max_abs = std::max(max_abs, std::fabs(valueAt(data, inputs.back(), i)));
          }
          const RingOutcome best = simulateRing(config, data, inputs);
          const double a_priori = ringErrorBound(config, data, peers, max_abs);
          for (size_t i = 0; i < kCount; ++i) {
            long double exact = 0;
            for (const Bytes& in : inputs)
              exact += valueAt(data, in, i);
            const double error =
                std::fabs(static_cast<double>(valueAt(data, best.outputs[0], i) - exact));
            const double bound = ringErrorBound(config, data, best.steps[i / kBlock]);
            ASSERT_LE(error, bound)
                << testing::describe(config, data) << " peers " << peers << " element " << i;
            ASSERT_LE(bound, a_priori) << testing::describe(config, data) << " peers " << peers;
          }
          for (const Bytes& out : best.outputs)
            ASSERT_EQ(out, best.outputs[0]) << "peers disagree";
          // Peers with different CPUs: every path sends and decodes the same bytes.
          for (reduce::Isa isa : testing::kIsas) {
            if (isa > reduce::bestSupportedIsa()) continue;
            testing::IsaScope scope(isa);
            const RingOutcome other = simulateRing(config, data, inputs);
            ASSERT_EQ(other.final_wire, best.final_wire) << reduce::isaName(isa);
            ASSERT_EQ(other.outputs[0], best.outputs[0]) << reduce::isaName(isa);
          }
        }
      }
    }
  }
}

// The bound grows with N: each hop's re-quantization adds its own error.
TEST(QuantRing, APrioriBoundGrowsWithThePeerCount) {
  const QuantConfig config{QuantAlgo::kMinMax, WireType::kU8, 1024};
  double previous = 0;
  for (uint32_t peers = 1; peers <= 16; ++peers) {
    const double bound = ringErrorBound(config, DType::kF32, peers, 1.0);
    EXPECT_GT(bound, previous);
    previous = bound;
  }
  // One peer: a single quantization of a block with range up to 2: half a level
  // (2/510) plus the float rounding term 8u (R + M) = 24 * 2^-24.
  EXPECT_DOUBLE_EQ(ringErrorBound(config, DType::kF32, 1, 1.0), 2.0 / 510 + 24 * 0x1p-24);
}

}  // namespace
}  // namespace eccl::quant
