// The outer kernels on every ISA path this CPU has, against plain scalar
// arithmetic written here: equal bit for bit, for lengths around the vector
// widths, f32 and bf16 (whose rounding must be reduce::f32ToBf16's).
#include "src/diloco/outer_kernels.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "src/reduce/half.h"

namespace eccl::diloco {
namespace {

using reduce::DType;
using reduce::Isa;

std::vector<Isa> pathsHere() {
  std::vector<Isa> paths{Isa::kScalar};
  if (reduce::bestSupportedIsa() >= Isa::kAvx2) paths.push_back(Isa::kAvx2);
  if (reduce::bestSupportedIsa() >= Isa::kAvx512) paths.push_back(Isa::kAvx512);
  return paths;
}

// Values as the dtype stores them, held as f32 for the reference.
struct Buffer {
  DType dtype;
  std::vector<uint8_t> bytes;

  Buffer(DType d, size_t n) : dtype(d), bytes(n * reduce::dtypeSize(d)) {}
  size_t size() const { return bytes.size() / reduce::dtypeSize(dtype); }
  float get(size_t i) const {
    if (dtype == DType::kF32) {
      float f;
      std::memcpy(&f, &bytes[i * 4], 4);
      return f;
    }
    uint16_t h;
    std::memcpy(&h, &bytes[i * 2], 2);
    return reduce::bf16ToF32(h);
  }
  void set(size_t i, float f) {
    if (dtype == DType::kF32) {
      std::memcpy(&bytes[i * 4], &f, 4);
      return;
    }
    const uint16_t h = reduce::f32ToBf16(f);
    std::memcpy(&bytes[i * 2], &h, 2);
  }
  void* data() { return bytes.data(); }
};

Buffer randomBuffer(DType dtype, size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<float> value(-4.0f, 4.0f);
  Buffer b(dtype, n);
  for (size_t i = 0; i < n; ++i)
    b.set(i, value(rng));
  return b;
}

class OuterKernelsTest : public ::testing::TestWithParam<DType> {};

TEST_P(OuterKernelsTest, EveryPathMatchesTheScalarArithmetic) {
  const DType dtype = GetParam();
  std::mt19937 rng(7);
  const float lr = 0.7f, mu = 0.9f, weight = 3.0f;
  for (size_t n : {size_t{1}, size_t{7}, size_t{15}, size_t{16}, size_t{17}, size_t{33}, size_t{64},
                   size_t{100}, size_t{1027}}) {
    const Buffer global0 = randomBuffer(dtype, n, rng), momentum0 = randomBuffer(dtype, n, rng),
                 sum = randomBuffer(dtype, n, rng), start0 = randomBuffer(dtype, n, rng),
                 current0 = randomBuffer(dtype, n, rng), carried = randomBuffer(dtype, n, rng);
    // The reference, element by element, in the kernels' documented order.
    Buffer want_delta(dtype, n), want_global = global0, want_momentum = momentum0,
                                 want_start(dtype, n), want_current(dtype, n);
    Buffer want_plain_start(dtype, n), want_plain_current(dtype, n);
    for (size_t i = 0; i < n; ++i) {
      want_delta.set(i, start0.get(i) - current0.get(i));
      const float g = sum.get(i) / weight;
      want_momentum.set(i, mu * momentum0.get(i) + g);
      want_global.set(i, global0.get(i) - lr * (g + mu * want_momentum.get(i)));
      const float drift = start0.get(i) - current0.get(i);
      want_start.set(i, global0.get(i) - carried.get(i));
      want_current.set(i, want_start.get(i) - drift);
      want_plain_start.set(i, global0.get(i));
      want_plain_current.set(i, global0.get(i) - drift);
    }
    for (Isa isa : pathsHere()) {
      SCOPED_TRACE(std::string(reduce::isaName(isa)) + " n=" + std::to_string(n));
      const OuterKernels& k = outerKernels(dtype, isa);
      Buffer start = start0, delta(dtype, n);
      k.pack(start.data(), current0.bytes.data(), delta.data(), n);
      EXPECT_EQ(delta.bytes, want_delta.bytes);
      EXPECT_EQ(start.bytes, current0.bytes);

      Buffer global = global0, momentum = momentum0;
      k.nesterov(global.data(), momentum.data(), sum.bytes.data(), weight, lr, mu, n);
      EXPECT_EQ(momentum.bytes, want_momentum.bytes);
      EXPECT_EQ(global.bytes, want_global.bytes);

      Buffer s1 = start0, c1 = current0;
      k.rebase(global0.bytes.data(), carried.bytes.data(), s1.data(), c1.data(), n);
      EXPECT_EQ(s1.bytes, want_start.bytes);
      EXPECT_EQ(c1.bytes, want_current.bytes);
      Buffer s2 = start0, c2 = current0;
      k.rebase(global0.bytes.data(), nullptr, s2.data(), c2.data(), n);
      EXPECT_EQ(s2.bytes, want_plain_start.bytes);
      EXPECT_EQ(c2.bytes, want_plain_current.bytes);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Dtypes, OuterKernelsTest, ::testing::Values(DType::kF32, DType::kBF16),
                         [](const auto& instance) {  // gtest's macro has an `info` of its own
                           return std::string(reduce::dtypeName(instance.param));
                         });

TEST(OuterKernels, Bf16RoundsToNearestEvenAndKeepsNaNs) {
  // rebase without carried progress: current = bf16(global - (start - current)).
  // With start = 0 the result is global + current, computed in f32.
  struct Case {
    uint16_t global, current, want;
  };
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<Case> cases = {
      {0x3F80, reduce::f32ToBf16(0x1p-8f), 0x3F80},  // 1 + 2^-8: a tie, even below: down
      {0x3F80, reduce::f32ToBf16(0x3p-8f), 0x3F82},  // 1 + 3*2^-8: a tie, odd below: up
      {0x7F7F, 0x7F7F, reduce::f32ToBf16(inf)},      // twice the largest: infinity
      {0x3F80, 0x7FC1, reduce::f32ToBf16(std::bit_cast<float>(0x7FC10000u))},  // NaN stays NaN
  };
  for (Isa isa : pathsHere()) {
    SCOPED_TRACE(reduce::isaName(isa));
    for (const Case& c : cases) {
      uint16_t start = 0, current = c.current;
      outerKernels(DType::kBF16, isa).rebase(&c.global, nullptr, &start, &current, 1);
      EXPECT_EQ(current, c.want) << std::hex << c.global << " + " << c.current;
      EXPECT_EQ(start, c.global);
    }
  }
}

}  // namespace
}  // namespace eccl::diloco
