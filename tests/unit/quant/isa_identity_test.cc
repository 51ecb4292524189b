// Every ISA path this CPU has against the scalar reference, bit for bit:
// encoded bytes, decoded values and decodeReduce results, over hard spans
// (partial blocks, odd counts, degenerate and non-finite blocks, denormals,
// +-0, ties, huge ranges) and over arbitrary wire bytes (records included).
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "src/quant/quant.h"
#include "tests/unit/quant/test_data.h"

namespace eccl::quant {
namespace {

using reduce::DType;
using reduce::Isa;
using testing::Bytes;

struct Results {
  Bytes wire;
  Bytes decoded;
  Bytes sum;
  Bytes min;
};

Results runOn(Isa isa, const QuantConfig& config, DType data, const Bytes& src,
              const Bytes& foreign_wire, const Bytes& acc) {
  testing::IsaScope scope(isa);
  EXPECT_TRUE(scope.ok());
  const size_t count = src.size() / reduce::dtypeSize(data);
  Results r;
  r.wire = testing::encoded(config, data, src);
  r.decoded = testing::decoded(config, data, foreign_wire, count);
  r.sum = acc;
  decodeReduce(config, data, reduce::ReduceOp::kSum, r.wire.data(), count, r.sum.data());
  r.min = acc;
  decodeReduce(config, data, reduce::ReduceOp::kMin, foreign_wire.data(), count, r.min.data());
  return r;
}

TEST(QuantIsa, EveryPathMatchesTheScalarReferenceBitForBit) {
  std::mt19937_64 rng(11);
  size_t paths = 0;
  for (Isa isa : testing::kIsas) {
    if (isa == Isa::kScalar || isa > reduce::bestSupportedIsa()) continue;
    ++paths;
    for (DType data : testing::kDataTypes) {
      for (WireType wire : testing::kWires) {
        for (QuantAlgo algo : testing::kAlgos) {
          for (uint32_t block : {16u, 48u, 1024u}) {
            for (size_t count : {1u, 7u, 15u, 16u, 17u, 33u, 100u, 1000u, 4099u}) {
              const QuantConfig config{algo, wire, block};
              const Bytes src = testing::toData(data, testing::hardValues(data, count, block, rng));
              const Bytes acc = testing::toData(data, testing::hardValues(data, count, block, rng));
              Bytes foreign(encodedBytes(config, data, count));
              for (unsigned char& c : foreign)
                c = static_cast<unsigned char>(rng());
              const Results want = runOn(Isa::kScalar, config, data, src, foreign, acc);
              const Results got = runOn(isa, config, data, src, foreign, acc);
              const std::string what = std::string(reduce::isaName(isa)) + " " +
                                       testing::describe(config, data) + " count " +
                                       std::to_string(count);
              ASSERT_EQ(got.wire, want.wire) << what << ": encoded bytes";
              ASSERT_EQ(got.decoded, want.decoded) << what << ": decoding arbitrary bytes";
              ASSERT_EQ(got.sum, want.sum) << what << ": decodeReduce sum";
              ASSERT_EQ(got.min, want.min) << what << ": decodeReduce min";
            }
          }
        }
      }
    }
  }
  if (paths == 0) GTEST_SKIP() << "this CPU has only the scalar path";
}

}  // namespace
}  // namespace eccl::quant
