// reduceInto on every ISA path this CPU has, every dtype and op, against the
// independent reference (tests/unit/reduce/reference.h), bit for bit.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "src/reduce/half.h"
#include "src/reduce/reduce.h"
#include "tests/unit/reduce/reference.h"
#include "tests/unit/reduce/test_buffers.h"

namespace eccl::reduce {
namespace {

using testing::GuardedBuffer;
using testing::randomElems;
using testing::refCombine;

constexpr Isa kIsas[] = {Isa::kScalar, Isa::kAvx2, Isa::kAvx512};
constexpr DType kDTypes[] = {DType::kI8,  DType::kU8,   DType::kI16, DType::kU16,
                             DType::kI32, DType::kU32,  DType::kI64, DType::kU64,
                             DType::kF16, DType::kBF16, DType::kF32, DType::kF64};
constexpr ReduceOp kOps[] = {ReduceOp::kSum, ReduceOp::kAvg, ReduceOp::kProd, ReduceOp::kMin,
                             ReduceOp::kMax};
constexpr size_t kSizes[] = {0, 1, 7, 31, 32, 33, 1000, 4099};
// (acc, in) byte offsets from a 64-byte boundary.
constexpr std::pair<size_t, size_t> kOffsets[] = {{0, 0}, {1, 3}, {5, 2}, {32, 0}};

// Switches to one path for the test and back to the best afterwards.
class IsaScope {
 public:
  explicit IsaScope(Isa isa) : ok_(setIsa(isa).isOk()) {}
  ~IsaScope() { (void)setIsa(bestSupportedIsa()); }
  bool ok() const { return ok_; }

 private:
  bool ok_;
};

// Runs reduceInto on copies of acc/in at the given offsets and checks every
// element against the reference, the guards, and that `in` is untouched.
void expectMatchesReference(DType dtype, ReduceOp op, const std::vector<uint64_t>& acc,
                            const std::vector<uint64_t>& in, size_t acc_offset = 0,
                            size_t in_offset = 0) {
  GuardedBuffer acc_buf(acc, dtype, acc_offset);
  GuardedBuffer in_buf(in, dtype, in_offset);
  reduceInto(acc_buf.data(), in_buf.data(), acc.size(), dtype, op);
  ASSERT_TRUE(acc_buf.guardsIntact()) << "wrote outside acc";
  ASSERT_TRUE(in_buf.guardsIntact()) << "wrote outside in";
  for (size_t i = 0; i < acc.size(); ++i) {
    ASSERT_EQ(in_buf.get(i), in[i]) << "in modified at " << i;
    ASSERT_EQ(acc_buf.get(i), refCombine(dtype, op, acc[i], in[i]))
        << std::hex << "element " << std::dec << i << " of " << acc.size() << std::hex << ": acc=0x"
        << acc[i] << " in=0x" << in[i];
  }
}

using Case = std::tuple<Isa, DType, ReduceOp>;

class ReduceKernelTest : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    if (std::get<0>(GetParam()) > bestSupportedIsa()) GTEST_SKIP() << "CPU lacks this ISA";
    scope_ = std::make_unique<IsaScope>(std::get<0>(GetParam()));
    ASSERT_TRUE(scope_->ok());
    ASSERT_EQ(activeIsa(), std::get<0>(GetParam()));
  }
  std::unique_ptr<IsaScope> scope_;
};

TEST_P(ReduceKernelTest, MatchesReferenceForEverySizeAndOffset) {
  const auto [isa, dtype, op] = GetParam();
  std::mt19937_64 rng(static_cast<uint64_t>(dtype) * 131 + static_cast<uint64_t>(op));
  for (size_t count : kSizes) {
    for (auto [acc_offset, in_offset] : kOffsets) {
      SCOPED_TRACE("count " + std::to_string(count) + " offsets " + std::to_string(acc_offset) +
                   "/" + std::to_string(in_offset));
      const auto acc = randomElems(dtype, count, rng);
      const auto in = randomElems(dtype, count, rng, &acc);
      expectMatchesReference(dtype, op, acc, in, acc_offset, in_offset);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TEST_P(ReduceKernelTest, AccumulatorMayBeTheInput) {
  const auto [isa, dtype, op] = GetParam();
  std::mt19937_64 rng(99);
  const auto data = randomElems(dtype, 1000, rng);
  GuardedBuffer buf(data, dtype, 3);
  reduceInto(buf.data(), buf.data(), data.size(), dtype, op);
  ASSERT_TRUE(buf.guardsIntact());
  for (size_t i = 0; i < data.size(); ++i) {
    ASSERT_EQ(buf.get(i), refCombine(dtype, op, data[i], data[i])) << i;
  }
}

TEST_P(ReduceKernelTest, ZeroCountTouchesNothing) {
  const auto [isa, dtype, op] = GetParam();
  reduceInto(nullptr, nullptr, 0, dtype, op);
}

INSTANTIATE_TEST_SUITE_P(All, ReduceKernelTest,
                         ::testing::Combine(::testing::ValuesIn(kIsas),
                                            ::testing::ValuesIn(kDTypes),
                                            ::testing::ValuesIn(kOps)),
                         [](const ::testing::TestParamInfo<Case>& p) {
                           return std::string(isaName(std::get<0>(p.param))) + "_" +
                                  dtypeName(std::get<1>(p.param)) + "_" +
                                  opName(std::get<2>(p.param));
                         });

// Explicit expectations for the documented edge cases, on each path, with
// enough repetitions that both vector lanes and the scalar tail see them.
class ReduceIsaTest : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (GetParam() > bestSupportedIsa()) GTEST_SKIP() << "CPU lacks this ISA";
    scope_ = std::make_unique<IsaScope>(GetParam());
    ASSERT_TRUE(scope_->ok());
  }

  // Every element of a count-long acc/in pair gets (a, b); returns the results.
  template <typename T>
  static std::vector<T> run(DType dtype, ReduceOp op, T a, T b, size_t count = 67) {
    std::vector<T> acc(count, a);
    const std::vector<T> in(count, b);
    reduceInto(acc.data(), in.data(), count, dtype, op);
    return acc;
  }
  template <typename T>
  static void expectAll(const std::vector<T>& got, T want) {
    for (size_t i = 0; i < got.size(); ++i)
      ASSERT_EQ(got[i], want) << "element " << i;
  }

  std::unique_ptr<IsaScope> scope_;
};

uint32_t bits(float f) {
  return std::bit_cast<uint32_t>(f);
}

TEST_P(ReduceIsaTest, FloatMinMaxNanZeroAndInfinity) {
  const float nan = std::bit_cast<float>(0x7FC00000u);
  const float other_nan = std::bit_cast<float>(0xFF800123u);  // negative, signalling
  struct Expect {
    ReduceOp op;
    float a, b, want;
  };
  const Expect cases[] = {
      {ReduceOp::kMin, -0.0f, 0.0f, -0.0f},
      {ReduceOp::kMin, 0.0f, -0.0f, -0.0f},
      {ReduceOp::kMax, -0.0f, 0.0f, 0.0f},
      {ReduceOp::kMax, 0.0f, -0.0f, 0.0f},
      {ReduceOp::kMin, other_nan, 1.0f, nan},
      {ReduceOp::kMin, 1.0f, other_nan, nan},
      {ReduceOp::kMax, other_nan, 1.0f, nan},
      {ReduceOp::kMax, -INFINITY, other_nan, nan},
      {ReduceOp::kMin, INFINITY, -INFINITY, -INFINITY},
      {ReduceOp::kMax, INFINITY, 5.0f, INFINITY},
      {ReduceOp::kSum, INFINITY, -INFINITY, nan},
      {ReduceOp::kSum, other_nan, other_nan, nan},
      {ReduceOp::kProd, 0.0f, INFINITY, nan},
      {ReduceOp::kSum, -0.0f, -0.0f, -0.0f},
      {ReduceOp::kMin, 2.0f, 3.0f, 2.0f},
      {ReduceOp::kMax, -2.0f, -3.0f, -2.0f},
  };
  for (const Expect& c : cases) {
    SCOPED_TRACE(std::string(opName(c.op)) + " " + std::to_string(c.a) + " " + std::to_string(c.b));
    expectAll(run<uint32_t>(DType::kF32, c.op, bits(c.a), bits(c.b)), bits(c.want));
    expectAll(run<uint64_t>(DType::kF64, c.op, std::bit_cast<uint64_t>(double(c.a)),
                            std::bit_cast<uint64_t>(double(c.b))),
              std::isnan(c.want) ? uint64_t{0x7FF8000000000000}
                                 : std::bit_cast<uint64_t>(double(c.want)));
    expectAll(run<uint16_t>(DType::kF16, c.op, f32ToF16(c.a), f32ToF16(c.b)), f32ToF16(c.want));
    expectAll(run<uint16_t>(DType::kBF16, c.op, f32ToBf16(c.a), f32ToBf16(c.b)), f32ToBf16(c.want));
  }
  EXPECT_EQ(f32ToF16(nan), 0x7E00);
  EXPECT_EQ(f32ToBf16(nan), 0x7FC0);
}

TEST_P(ReduceIsaTest, IntegersWrapAround) {
  expectAll(run<int32_t>(DType::kI32, ReduceOp::kSum, INT32_MAX, 1), INT32_MIN);
  expectAll(run<uint8_t>(DType::kU8, ReduceOp::kSum, 200, 100), uint8_t{44});
  expectAll(run<int8_t>(DType::kI8, ReduceOp::kProd, -128, -1), int8_t{-128});
  expectAll(run<int8_t>(DType::kI8, ReduceOp::kProd, 127, 127), int8_t{1});
  expectAll(run<uint16_t>(DType::kU16, ReduceOp::kProd, 65535, 65535), uint16_t{1});
  expectAll(run<int16_t>(DType::kI16, ReduceOp::kSum, -32768, -1), int16_t{32767});
  expectAll(run<int64_t>(DType::kI64, ReduceOp::kProd, INT64_MAX, 2), int64_t{-2});
  expectAll(
      run<uint64_t>(DType::kU64, ReduceOp::kProd, 0xFFFFFFFF00000001ull, 0xFFFFFFFF00000001ull),
      uint64_t{0xFFFFFFFE00000001ull});
  expectAll(run<uint64_t>(DType::kU64, ReduceOp::kMin, 1ull << 63, 1), uint64_t{1});
  expectAll(run<int64_t>(DType::kI64, ReduceOp::kMax, INT64_MIN, -1), int64_t{-1});
  expectAll(run<uint32_t>(DType::kU32, ReduceOp::kMax, 0x80000000u, 1), 0x80000000u);
  expectAll(run<int8_t>(DType::kI8, ReduceOp::kMin, -128, 127), int8_t{-128});
}

// Adding -0 leaves every non-NaN f16/bf16 unchanged, so this walks all 65536
// patterns through the path's widen and narrow.
TEST_P(ReduceIsaTest, HalfWidenNarrowEveryPattern) {
  for (DType dtype : {DType::kF16, DType::kBF16}) {
    std::vector<uint64_t> acc(65536), in(65536, 0x8000);
    for (size_t i = 0; i < acc.size(); ++i)
      acc[i] = i;
    expectMatchesReference(dtype, ReduceOp::kSum, acc, in);
  }
}

// Products of every pattern with multipliers whose results need rounding,
// subnormal results and overflow.
TEST_P(ReduceIsaTest, HalfProductsRoundLikeReference) {
  const float multipliers[] = {1.0009765625f, 0.33333334f, 3.0f,        1.0f / 1024,
                               1000.0f,       -0.7f,       1.00390625f, 0.5f};
  for (DType dtype : {DType::kF16, DType::kBF16}) {
    for (float m : multipliers) {
      const uint64_t mb = dtype == DType::kF16 ? f32ToF16(m) : f32ToBf16(m);
      std::vector<uint64_t> acc(65536), in(65536, mb);
      for (size_t i = 0; i < acc.size(); ++i)
        acc[i] = i;
      expectMatchesReference(dtype, ReduceOp::kProd, acc, in, 1, 2);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(All, ReduceIsaTest, ::testing::ValuesIn(kIsas),
                         [](const ::testing::TestParamInfo<Isa>& p) {
                           return std::string(isaName(p.param));
                         });

}  // namespace
}  // namespace eccl::reduce
