// checkfree::recoverStage against the formula written out here element by
// element, compared bit for bit (memcmp) on every dtype, and its errors.
#include "src/checkfree/stage_recovery.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "src/reduce/half.h"

namespace eccl::checkfree {
namespace {

using reduce::DType;

constexpr DType kFloatTypes[] = {DType::kF32, DType::kF64, DType::kF16, DType::kBF16};

// Bytes of count elements of a dtype, filled from doubles.
struct Buffer {
  DType dtype;
  std::vector<uint8_t> bytes;

  Buffer(DType d, size_t n) : dtype(d), bytes(n * reduce::dtypeSize(d)) {}
  size_t size() const { return bytes.size() / reduce::dtypeSize(dtype); }
  void set(size_t i, double v) {
    switch (dtype) {
      case DType::kF64:
        std::memcpy(&bytes[i * 8], &v, 8);
        return;
      case DType::kF32: {
        const auto f = static_cast<float>(v);
        std::memcpy(&bytes[i * 4], &f, 4);
        return;
      }
      default: {
        const auto f = static_cast<float>(v);
        const uint16_t h = dtype == DType::kF16 ? reduce::f32ToF16(f) : reduce::f32ToBf16(f);
        std::memcpy(&bytes[i * 2], &h, 2);
      }
    }
  }
  void* data() { return bytes.data(); }
  const void* data() const { return bytes.data(); }
};

Buffer randomBuffer(DType dtype, size_t n, std::mt19937& rng) {
  std::uniform_real_distribution<double> mantissa(-2.0, 2.0);
  std::uniform_int_distribution<int> exponent(-12, 12);
  Buffer b(dtype, n);
  for (size_t i = 0; i < n; ++i)
    b.set(i, std::ldexp(mantissa(rng), exponent(rng)));
  return b;
}

// The documented formula, one element at a time, in the working type T.
template <typename T>
T referenceElement(T p, T n, double prev_norm, double next_norm, double epsilon) {
  const T wp = static_cast<T>(prev_norm + epsilon);
  const T wn = static_cast<T>(next_norm + epsilon);
  const T r = (wn * n + wp * p) / (wn + wp);
  if (std::isnan(r)) return std::numeric_limits<T>::quiet_NaN();  // canonical, positive
  return r;
}

Buffer reference(const Buffer& prev, double prev_norm, const Buffer& next, double next_norm,
                 double epsilon) {
  Buffer out(prev.dtype, prev.size());
  for (size_t i = 0; i < prev.size(); ++i) {
    switch (prev.dtype) {
      case DType::kF64: {
        double p, n;
        std::memcpy(&p, &prev.bytes[i * 8], 8);
        std::memcpy(&n, &next.bytes[i * 8], 8);
        const double r = referenceElement(p, n, prev_norm, next_norm, epsilon);
        std::memcpy(&out.bytes[i * 8], &r, 8);
        break;
      }
      case DType::kF32: {
        float p, n;
        std::memcpy(&p, &prev.bytes[i * 4], 4);
        std::memcpy(&n, &next.bytes[i * 4], 4);
        const float r = referenceElement(p, n, prev_norm, next_norm, epsilon);
        std::memcpy(&out.bytes[i * 4], &r, 4);
        break;
      }
      default: {
        const bool f16 = prev.dtype == DType::kF16;
        uint16_t hp, hn;
        std::memcpy(&hp, &prev.bytes[i * 2], 2);
        std::memcpy(&hn, &next.bytes[i * 2], 2);
        const float p = f16 ? reduce::f16ToF32(hp) : reduce::bf16ToF32(hp);
        const float n = f16 ? reduce::f16ToF32(hn) : reduce::bf16ToF32(hn);
        const float r = referenceElement(p, n, prev_norm, next_norm, epsilon);
        const uint16_t h = f16 ? reduce::f32ToF16(r) : reduce::f32ToBf16(r);
        std::memcpy(&out.bytes[i * 2], &h, 2);
      }
    }
  }
  return out;
}

void expectSameBits(const Buffer& got, const Buffer& want, const char* what) {
  ASSERT_EQ(got.bytes.size(), want.bytes.size()) << what;
  EXPECT_EQ(std::memcmp(got.bytes.data(), want.bytes.data(), got.bytes.size()), 0)
      << what << " " << reduce::dtypeName(got.dtype) << " count " << got.size();
}

Status recover(const Buffer& prev, double prev_norm, const Buffer& next, double next_norm,
               Buffer& out, double epsilon = kDefaultEpsilon) {
  return recoverStage(prev.data(), prev_norm, next.data(), next_norm, out.data(), out.size(),
                      out.dtype, epsilon);
}

TEST(StageRecovery, EveryDtypeMatchesTheFormulaBitForBit) {
  std::mt19937 rng(12);
  std::uniform_real_distribution<double> norm(0.0, 8.0);
  for (DType dtype : kFloatTypes) {
    for (size_t count : {1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 33, 63, 65, 1000, 4099}) {
      const Buffer prev = randomBuffer(dtype, count, rng);
      const Buffer next = randomBuffer(dtype, count, rng);
      const double pn = norm(rng), nn = norm(rng);
      Buffer out(dtype, count);
      ASSERT_TRUE(recover(prev, pn, next, nn, out).isOk());
      expectSameBits(out, reference(prev, pn, next, nn, kDefaultEpsilon), "two neighbours");
    }
  }
}

TEST(StageRecovery, WeightsFollowTheNorms) {
  // (3 * 4 + 1 * 0) / (3 + 1) = 3, exactly: the larger norm pulls harder.
  const float prev[1] = {0.0f}, next[1] = {4.0f};
  float out[1] = {-1.0f};
  ASSERT_TRUE(recoverStage(prev, 1.0, next, 3.0, out, 1, DType::kF32, 0.0).isOk());
  EXPECT_EQ(out[0], 3.0f);
}

TEST(StageRecovery, UnalignedBuffersAndInPlace) {
  std::mt19937 rng(3);
  for (DType dtype : kFloatTypes) {
    const size_t count = 37, size = reduce::dtypeSize(dtype);
    const Buffer prev = randomBuffer(dtype, count, rng);
    const Buffer next = randomBuffer(dtype, count, rng);
    const Buffer want = reference(prev, 0.5, next, 2.0, 1e-3);
    // One byte off every natural alignment.
    std::vector<uint8_t> p(count * size + 1), n(count * size + 1), o(count * size + 1);
    std::memcpy(p.data() + 1, prev.data(), count * size);
    std::memcpy(n.data() + 1, next.data(), count * size);
    ASSERT_TRUE(recoverStage(p.data() + 1, 0.5, n.data() + 1, 2.0, o.data() + 1, count, dtype, 1e-3)
                    .isOk());
    EXPECT_EQ(std::memcmp(o.data() + 1, want.data(), count * size), 0) << "unaligned";

    Buffer in_prev = prev;  // out is prev
    ASSERT_TRUE(
        recoverStage(in_prev.data(), 0.5, next.data(), 2.0, in_prev.data(), count, dtype, 1e-3)
            .isOk());
    expectSameBits(in_prev, want, "in place on prev");
    Buffer in_next = next;  // out is next
    ASSERT_TRUE(
        recoverStage(prev.data(), 0.5, in_next.data(), 2.0, in_next.data(), count, dtype, 1e-3)
            .isOk());
    expectSameBits(in_next, want, "in place on next");
  }
}

TEST(StageRecovery, AnEdgeStageCopiesItsOneNeighbourBits) {
  std::mt19937 rng(5);
  for (DType dtype : kFloatTypes) {
    Buffer only = randomBuffer(dtype, 19, rng);
    // A signalling NaN with a payload: a copy keeps it, arithmetic would not.
    if (dtype == DType::kF32) {
      const uint32_t snan = 0x7F800123u;
      std::memcpy(only.data(), &snan, 4);
    }
    Buffer out(dtype, 19);
    ASSERT_TRUE(recoverStage(only.data(), 7.0, nullptr, 0.0, out.data(), 19, dtype, kDefaultEpsilon)
                    .isOk());
    expectSameBits(out, only, "prev only");
    Buffer out2(dtype, 19);
    ASSERT_TRUE(recoverStage(nullptr, 0.0, only.data(), 1e300, out2.data(), 19, dtype, 0.0).isOk());
    expectSameBits(out2, only, "next only (a norm too large for f32 does not matter)");
    Buffer same = only;
    ASSERT_TRUE(recoverStage(same.data(), 1.0, nullptr, 0.0, same.data(), 19, dtype, 0.0).isOk());
    expectSameBits(same, only, "in place");
    // Norms are still validated.
    EXPECT_FALSE(recoverStage(only.data(), -1.0, nullptr, 0.0, out.data(), 19, dtype, 0.0).isOk());
    EXPECT_FALSE(
        recoverStage(nullptr, std::nan(""), only.data(), 0.0, out.data(), 19, dtype, 0.0).isOk());
  }
}

TEST(StageRecovery, ZeroNormsWeighEquallyThroughEpsilon) {
  std::mt19937 rng(8);
  for (DType dtype : kFloatTypes) {
    const Buffer prev = randomBuffer(dtype, 33, rng);
    const Buffer next = randomBuffer(dtype, 33, rng);
    Buffer out(dtype, 33);
    ASSERT_TRUE(recover(prev, 0.0, next, 0.0, out).isOk());
    expectSameBits(out, reference(prev, 0.0, next, 0.0, kDefaultEpsilon), "zero norms");
  }
  const double prev[1] = {1.0}, next[1] = {3.0};
  double out[1];
  ASSERT_TRUE(recoverStage(prev, 0.0, next, 0.0, out, 1, DType::kF64, kDefaultEpsilon).isOk());
  EXPECT_EQ(out[0], 2.0);  // the plain mean: (e*3 + e*1) / (2e)
}

TEST(StageRecovery, HugeAndTinyNorms) {
  std::mt19937 rng(9);
  struct Case {
    double prev_norm, next_norm, epsilon;
  };
  // Representable in f32 (and so f64); tiny ones still sum above 0.
  const Case cases[] = {{1e30, 1e-30, 0.0},
                        {3e38, 0.0, 0.0},
                        {1e-38, 1e-38, 0.0},
                        {1e-44, 0.0, 0.0},
                        {0.0, 1e20, 1e-6}};
  for (DType dtype : kFloatTypes) {
    for (const Case& c : cases) {
      const Buffer prev = randomBuffer(dtype, 17, rng);
      const Buffer next = randomBuffer(dtype, 17, rng);
      Buffer out(dtype, 17);
      ASSERT_TRUE(recover(prev, c.prev_norm, next, c.next_norm, out, c.epsilon).isOk())
          << c.prev_norm << " " << c.next_norm;
      expectSameBits(out, reference(prev, c.prev_norm, next, c.next_norm, c.epsilon),
                     "extreme norms");
    }
  }
  // 1e300 overflows float but not double; 1e-300 underflows float to 0.
  const Buffer p64 = randomBuffer(DType::kF64, 5, rng), n64 = randomBuffer(DType::kF64, 5, rng);
  Buffer o64(DType::kF64, 5);
  ASSERT_TRUE(recover(p64, 1e300, n64, 1e-300, o64, 0.0).isOk());
  expectSameBits(o64, reference(p64, 1e300, n64, 1e-300, 0.0), "f64 extremes");
  for (DType dtype : {DType::kF32, DType::kF16, DType::kBF16}) {
    const Buffer p = randomBuffer(dtype, 5, rng), n = randomBuffer(dtype, 5, rng);
    Buffer o(dtype, 5);
    const Status big = recover(p, 1e300, n, 0.0, o, 0.0);
    EXPECT_EQ(big.code(), Code::kInvalidArgument);
    EXPECT_NE(big.message().find("overflow"), std::string::npos) << big.message();
    EXPECT_EQ(recover(p, 3e38, n, 3e38, o, 0.0).code(), Code::kInvalidArgument)  // sum overflows
        << "sum";
    const Status tiny = recover(p, 1e-300, n, 1e-300, o, 0.0);
    EXPECT_EQ(tiny.code(), Code::kInvalidArgument);
    EXPECT_NE(tiny.message().find("sum to 0"), std::string::npos) << tiny.message();
  }
}

TEST(StageRecovery, NanAndInfinityFollowTheFormula) {
  const float inf = std::numeric_limits<float>::infinity();
  const float payload_nan = std::bit_cast<float>(uint32_t{0xFFC12345u});  // negative, payload
  const float prev[] = {payload_nan, inf, inf, 1.0f, -inf, 2.0f};
  const float next[] = {1.0f, 1.0f, -inf, payload_nan, -inf, inf};
  float out[6];
  ASSERT_TRUE(recoverStage(prev, 1.0, next, 2.0, out, 6, DType::kF32, 0.0).isOk());
  EXPECT_EQ(std::bit_cast<uint32_t>(out[0]), 0x7FC00000u);  // NaN in: canonical NaN out
  EXPECT_EQ(out[1], inf);                                   // (2*1 + 1*inf) / 3
  EXPECT_EQ(std::bit_cast<uint32_t>(out[2]), 0x7FC00000u);  // inf - inf
  EXPECT_EQ(std::bit_cast<uint32_t>(out[3]), 0x7FC00000u);
  EXPECT_EQ(out[4], -inf);
  EXPECT_EQ(out[5], inf);
  // The same through the half types and f64, against the reference.
  for (DType dtype : kFloatTypes) {
    Buffer p(dtype, 6), n(dtype, 6);
    for (size_t i = 0; i < 6; ++i) {
      p.set(i, prev[i]);
      n.set(i, next[i]);
    }
    Buffer o(dtype, 6);
    ASSERT_TRUE(recover(p, 1.0, n, 2.0, o, 0.0).isOk());
    expectSameBits(o, reference(p, 1.0, n, 2.0, 0.0), "NaN and Inf");
  }
  const uint16_t f16_nan = 0xFE01, bf16_nan = 0xFF81;  // negative, with payloads
  const uint16_t one_f16 = reduce::f32ToF16(1.0f), one_bf16 = reduce::f32ToBf16(1.0f);
  uint16_t h;
  ASSERT_TRUE(recoverStage(&f16_nan, 1.0, &one_f16, 1.0, &h, 1, DType::kF16, 0.0).isOk());
  EXPECT_EQ(h, 0x7E00);
  ASSERT_TRUE(recoverStage(&one_bf16, 1.0, &bf16_nan, 1.0, &h, 1, DType::kBF16, 0.0).isOk());
  EXPECT_EQ(h, 0x7FC0);
  const double dnan = std::bit_cast<double>(uint64_t{0xFFF0000000000042u}), one = 1.0;
  double d;
  ASSERT_TRUE(recoverStage(&one, 1.0, &dnan, 1.0, &d, 1, DType::kF64, 0.0).isOk());
  EXPECT_EQ(std::bit_cast<uint64_t>(d), 0x7FF8000000000000u);
}

// The error, checking that out kept its bytes.
Status failing(const void* prev, double prev_norm, const void* next, double next_norm, size_t count,
               DType dtype, double epsilon, std::vector<uint8_t>* out) {
  const std::vector<uint8_t> before = *out;
  Status status = recoverStage(prev, prev_norm, next, next_norm,
                               out->empty() ? nullptr : out->data(), count, dtype, epsilon);
  EXPECT_EQ(status.code(), Code::kInvalidArgument) << status.toString();
  EXPECT_EQ(*out, before) << "out written on error: " << status.message();
  return status;
}

bool mentions(const Status& status, const char* text) {
  return status.message().find(text) != std::string::npos;
}

TEST(StageRecovery, RefusesBadArguments) {
  const float a[4] = {1, 2, 3, 4}, b[4] = {5, 6, 7, 8};
  std::vector<uint8_t> out(16, 0xAB);
  const DType f32 = DType::kF32;
  const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();

  EXPECT_TRUE(mentions(failing(nullptr, 1, nullptr, 1, 4, f32, 1e-6, &out), "both NULL"));
  EXPECT_TRUE(mentions(failing(nullptr, 1, nullptr, 1, 0, f32, 1e-6, &out), "both NULL"));
  std::vector<uint8_t> none;
  EXPECT_TRUE(mentions(failing(a, 1, b, 1, 4, f32, 1e-6, &none), "out is NULL"));
  EXPECT_TRUE(recoverStage(a, 1, b, 1, nullptr, 0, f32, 1e-6).isOk());  // nothing to write

  EXPECT_TRUE(mentions(failing(a, -1, b, 1, 4, f32, 1e-6, &out), "prev_norm"));
  EXPECT_TRUE(mentions(failing(a, 1, b, nan, 4, f32, 1e-6, &out), "next_norm"));
  EXPECT_TRUE(mentions(failing(a, inf, b, 1, 4, f32, 1e-6, &out), "prev_norm"));
  EXPECT_TRUE(mentions(failing(a, 1, b, 1, 4, f32, -1e-6, &out), "epsilon"));
  EXPECT_TRUE(mentions(failing(a, 1, b, 1, 4, f32, inf, &out), "epsilon"));
  EXPECT_TRUE(mentions(failing(a, 1, b, 1, 4, f32, nan, &out), "epsilon"));
  EXPECT_TRUE(mentions(failing(a, 0, b, 0, 4, f32, 0, &out), "sum to 0"));
  EXPECT_TRUE(mentions(failing(a, 0, b, 0, 0, f32, 0, &out), "sum to 0"));  // even with no data

  for (DType integer : {DType::kI8, DType::kU8, DType::kI16, DType::kU16, DType::kI32, DType::kU32,
                        DType::kI64, DType::kU64}) {
    EXPECT_TRUE(mentions(failing(a, 1, b, 1, 2, integer, 1e-6, &out), "floating point"))
        << reduce::dtypeName(integer);
  }
  EXPECT_TRUE(mentions(failing(a, 1, b, 1, 2, static_cast<DType>(99), 1e-6, &out), "unknown"));
  EXPECT_TRUE(mentions(failing(a, 1, b, 1, SIZE_MAX / 2, f32, 1e-6, &out), "overflows"));

  // out overlapping a neighbour by part of it: refused either way round.
  std::vector<float> buf = {1, 2, 3, 4, 5, 6};
  const std::vector<float> kept = buf;
  Status overlap = recoverStage(buf.data(), 1, b, 1, buf.data() + 1, 4, f32, 1e-6);
  EXPECT_TRUE(mentions(overlap, "overlaps")) << overlap.toString();
  overlap = recoverStage(a, 1, buf.data() + 1, 1, buf.data(), 4, f32, 1e-6);
  EXPECT_TRUE(mentions(overlap, "overlaps")) << overlap.toString();
  overlap = recoverStage(buf.data() + 2, 1, nullptr, 1, buf.data(), 4, f32, 1e-6);
  EXPECT_TRUE(mentions(overlap, "overlaps")) << overlap.toString();
  EXPECT_EQ(buf, kept);
  // Adjacent, not overlapping: fine.
  EXPECT_TRUE(recoverStage(buf.data(), 1, b, 1, buf.data() + 4, 2, f32, 1e-6).isOk());
}

}  // namespace
}  // namespace eccl::checkfree
