// The quantized ring all-reduce (src/coll/quant_ring_op.h) between real
// communicators: every peer ends with the same bytes, within the documented
// error bound of the exact sum, with fewer bytes on the wire; peers that
// disagree on the config fail naming it; bad configs never reach the wire.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "src/quant/quant.h"
#include "tests/support/test_env.h"
#include "tests/unit/coll/peer_threads.h"
#include "tests/unit/coll/ring_cluster.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using quant::QuantAlgo;
using quant::QuantConfig;
using quant::WireType;
using reduce::DType;
using reduce::ReduceOp;

// Small chunks, so that an op has many pipelined chunks and partial blocks.
coll::CollOptions manyChunks() {
  coll::CollOptions options;
  options.chunk_bytes = 12 << 10;
  return options;
}

std::vector<float> inputOf(int rank, size_t count) {
  std::mt19937 rng(static_cast<uint32_t>(1000 + rank));
  std::uniform_real_distribution<float> value(-3.0f, 5.0f);
  std::vector<float> data(count);
  for (auto& v : data)
    v = value(rng);
  return data;
}

struct Case {
  QuantConfig config;
  int peers;
};

class QuantAllReduce : public ::testing::TestWithParam<Case> {};

TEST_P(QuantAllReduce, EveryPeerHoldsTheSameBytesWithinTheBound) {
  const Case c = GetParam();
  RingCluster cluster(manyChunks());
  cluster.grow(c.peers);
  const size_t count = 50'003;  // not a multiple of N, of the chunk or of the block
  std::vector<std::vector<float>> results(static_cast<size_t>(c.peers));
  std::vector<coll::OpInfo> infos(static_cast<size_t>(c.peers));
  auto statuses = cluster.runEach([&](int r) {
    auto& out = results[static_cast<size_t>(r)];
    out = inputOf(r, count);
    return cluster.peer(r).allReduce(out.data(), out.data(), count, DType::kF32, ReduceOp::kSum, 7,
                                     deadline(30s), &infos[static_cast<size_t>(r)], &c.config);
  });
  for (const Status& s : statuses)
    ASSERT_TRUE(s.isOk()) << s.toString();
  double max_abs = 0;
  std::vector<double> exact(count, 0.0);
  for (int r = 0; r < c.peers; ++r) {
    const auto in = inputOf(r, count);
    for (size_t i = 0; i < count; ++i) {
      exact[i] += in[i];
      max_abs = std::max(max_abs, std::fabs(static_cast<double>(in[i])));
    }
  }
  const double bound =
      quant::ringErrorBound(c.config, DType::kF32, static_cast<uint32_t>(c.peers), max_abs);
  ASSERT_TRUE(std::isfinite(bound));
  for (size_t i = 0; i < count; ++i) {
    ASSERT_LE(std::fabs(results[0][i] - exact[i]), bound) << "element " << i;
  }
  for (int r = 1; r < c.peers; ++r) {
    EXPECT_EQ(std::memcmp(results[static_cast<size_t>(r)].data(), results[0].data(),
                          count * sizeof(float)),
              0)
        << "rank " << r << " differs from rank 0";
  }
  // The wire carries the encoding: about 1/4 of the f32 bytes for 8 bits.
  const double plain = 2.0 * (c.peers - 1) / c.peers * count * sizeof(float);
  const double ratio = static_cast<double>(infos[0].bytes_sent) / plain;
  const double expected =
      static_cast<double>(quant::encodedBytes(c.config, DType::kF32, count)) / (count * 4.0);
  EXPECT_LT(ratio, expected * 1.1 + 0.01) << "sent " << infos[0].bytes_sent;
}

INSTANTIATE_TEST_SUITE_P(Configs, QuantAllReduce,
                         ::testing::Values(Case{{QuantAlgo::kMinMax, WireType::kU8, 1024}, 2},
                                           Case{{QuantAlgo::kMinMax, WireType::kU8, 256}, 3},
                                           Case{{QuantAlgo::kZeroPointScale, WireType::kI8, 64}, 4},
                                           Case{{QuantAlgo::kMinMax, WireType::kU16, 4096}, 5},
                                           Case{{QuantAlgo::kMinMax, WireType::kBF16, 1024}, 3},
                                           Case{{QuantAlgo::kZeroPointScale, WireType::kF16, 1024},
                                                2},
                                           Case{{QuantAlgo::kMinMax, WireType::kU8, 128}, 6}));

TEST(QuantAllReduceOps, AverageAndMaxAreIdenticalEverywhere) {
  RingCluster cluster(manyChunks());
  cluster.grow(3);
  const QuantConfig config{QuantAlgo::kMinMax, WireType::kU8, 512};
  for (ReduceOp op : {ReduceOp::kAvg, ReduceOp::kMax}) {
    const size_t count = 20'001;
    std::vector<std::vector<float>> results(3);
    auto statuses = cluster.runEach([&](int r) {
      auto& out = results[static_cast<size_t>(r)];
      out = inputOf(r, count);
      return cluster.peer(r).allReduce(out.data(), out.data(), count, DType::kF32, op, 8,
                                       deadline(30s), nullptr, &config);
    });
    for (const Status& s : statuses)
      ASSERT_TRUE(s.isOk()) << s.toString();
    for (int r = 1; r < 3; ++r) {
      EXPECT_EQ(std::memcmp(results[static_cast<size_t>(r)].data(), results[0].data(),
                            count * sizeof(float)),
                0);
    }
    // Every value lies in [-3, 5]: one u8 level of such a block is 8/255.
    for (size_t i = 0; i < count; ++i) {
      float want = op == ReduceOp::kMax ? -1e30f : 0.0f;
      for (int r = 0; r < 3; ++r) {
        const float v = inputOf(r, count)[i];
        want = op == ReduceOp::kMax ? std::max(want, v) : want + v / 3.0f;
      }
      ASSERT_NEAR(results[0][i], want, 3 * 8.0 / 255) << i;
      if (i > 200) break;  // the inputs are regenerated per element: a sample is enough
    }
  }
}

TEST(QuantAllReduceOps, SmallOpsTakeTheRingAndAgree) {
  RingCluster cluster;  // recursive doubling would take 40 bytes
  cluster.grow(3);
  const QuantConfig config{QuantAlgo::kMinMax, WireType::kU8, 16};
  std::vector<std::vector<float>> results(3);
  auto statuses = cluster.runEach([&](int r) {
    results[static_cast<size_t>(r)] = inputOf(r, 10);
    return cluster.peer(r).allReduce(results[static_cast<size_t>(r)].data(),
                                     results[static_cast<size_t>(r)].data(), 10, DType::kF32,
                                     ReduceOp::kSum, 9, deadline(30s), nullptr, &config);
  });
  for (const Status& s : statuses)
    ASSERT_TRUE(s.isOk()) << s.toString();
  EXPECT_EQ(results[1], results[0]);
  EXPECT_EQ(results[2], results[0]);
}

TEST(QuantAllReduceOps, PeersWithAnotherConfigFailNamingIt) {
  RingCluster cluster;
  cluster.grow(3);
  auto statuses = cluster.runEach([&](int r) {
    const QuantConfig config{QuantAlgo::kMinMax, r == 1 ? WireType::kU16 : WireType::kU8, 1024};
    std::vector<float> buf(100'000, 1.0f);
    return cluster.peer(r).allReduce(buf.data(), buf.data(), buf.size(), DType::kF32,
                                     ReduceOp::kSum, 4, deadline(20s), nullptr, &config);
  });
  for (int r = 0; r < 3; ++r) {
    const Status& s = statuses[static_cast<size_t>(r)];
    EXPECT_EQ(s.code(), Code::kInvalidUsage) << r << ": " << s.toString();
    EXPECT_TRUE(contains(s, "has quantization minmax/u")) << r << ": " << s.toString();
  }
  cluster.update();
  expectSumWorks(cluster, 64, 5);
}

TEST(QuantAllReduceOps, BadConfigsAreArgumentErrorsBeforeAnyMessage) {
  RingCluster cluster;
  cluster.grow(2);
  std::vector<int32_t> ints(64, 1);
  const QuantConfig u8{QuantAlgo::kMinMax, WireType::kU8, 1024};
  Status s = cluster.peer(0).allReduce(ints.data(), ints.data(), ints.size(), DType::kI32,
                                       ReduceOp::kSum, 1, deadline(5s), nullptr, &u8);
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.toString();
  EXPECT_TRUE(contains(s, "i32")) << s.toString();
  std::vector<float> floats(64, 1.0f);
  const QuantConfig odd_block{QuantAlgo::kMinMax, WireType::kU8, 100};
  s = cluster.peer(0).allReduce(floats.data(), floats.data(), floats.size(), DType::kF32,
                                ReduceOp::kSum, 1, deadline(5s), nullptr, &odd_block);
  EXPECT_EQ(s.code(), Code::kInvalidArgument) << s.toString();
  // Nothing was sent: the ring still works without an update.
  expectSumWorks(cluster, 64, 2);
}

}  // namespace
}  // namespace eccl::test
