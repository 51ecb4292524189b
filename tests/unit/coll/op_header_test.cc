#include "src/coll/op_header.h"

#include <gtest/gtest.h>

namespace eccl::coll {
namespace {

OpDigest sample() {
  OpDigest d;
  d.tag = 77;
  d.count = 1024;
  d.dtype = reduce::DType::kBF16;
  d.op = reduce::ReduceOp::kMax;
  d.revision = 12;
  d.world_size = 4;
  d.rank = 2;
  return d;
}

TEST(OpHeader, RoundTripsEveryField) {
  auto decoded = decodeOpHeader(encodeOpHeader(sample()));
  ASSERT_TRUE(decoded) << decoded.status().toString();
  EXPECT_TRUE(compareDigests(sample(), *decoded, 2, "peer x").isOk());
  EXPECT_EQ(decoded->count, 1024u);
  EXPECT_EQ(decoded->dtype, reduce::DType::kBF16);
}

TEST(OpHeader, BadMagicAndOtherVersionsAreRefused) {
  auto bytes = encodeOpHeader(sample());
  bytes[0] ^= 1;
  EXPECT_EQ(decodeOpHeader(bytes).status().code(), Code::kProtocolError);
  bytes = encodeOpHeader(sample());
  bytes[4] = 9;
  EXPECT_EQ(decodeOpHeader(bytes).status().code(), Code::kUnsupported);
}

TEST(OpHeader, AMismatchNamesThePeerTheFieldAndBothValues) {
  OpDigest theirs = sample();
  theirs.count = 1000;
  Status s = compareDigests(sample(), theirs, 2, "peer 3f2a9c01 (rank 2)");
  EXPECT_EQ(s.code(), Code::kInvalidUsage);
  EXPECT_EQ(s.message(), "peer 3f2a9c01 (rank 2) has count 1000, this peer 1024");

  theirs = sample();
  theirs.op = reduce::ReduceOp::kSum;
  EXPECT_EQ(compareDigests(sample(), theirs, 2, "peer p").message(),
            "peer p has op sum, this peer max");
  theirs = sample();
  theirs.dtype = reduce::DType::kF32;
  EXPECT_EQ(compareDigests(sample(), theirs, 2, "peer p").message(),
            "peer p has dtype f32, this peer bf16");
  theirs = sample();
  theirs.tag = 78;
  EXPECT_NE(compareDigests(sample(), theirs, 2, "peer p").message().find("tag 78"),
            std::string::npos);
  theirs = sample();
  theirs.quant = 1;
  EXPECT_NE(compareDigests(sample(), theirs, 2, "p").message().find("quant"), std::string::npos);
  theirs = sample();
  theirs.revision = 11;
  EXPECT_NE(compareDigests(sample(), theirs, 2, "p").message().find("topology revision 11"),
            std::string::npos);
  theirs = sample();
  theirs.world_size = 3;
  EXPECT_NE(compareDigests(sample(), theirs, 2, "p").message().find("world size 3"),
            std::string::npos);
  // The sender's rank must be the one this peer's ring gives it.
  EXPECT_EQ(compareDigests(sample(), sample(), 1, "p").code(), Code::kInvalidUsage);
}

TEST(OpHeader, UnknownEnumValuesAreNamedNotUsed) {
  auto bytes = encodeOpHeader(sample());
  bytes[7] = 200;  // dtype
  auto decoded = decodeOpHeader(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(compareDigests(sample(), *decoded, 2, "p").message(),
            "p has dtype dtype #200, this peer bf16");
}

}  // namespace
}  // namespace eccl::coll
