#include "src/coll/op_header.h"

#include <gtest/gtest.h>

#include <vector>

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

  OpDigest v = sample();
  v.collective = Collective::kReduceScatter;
  v.root = 0xA1B2C3D4;
  v.counts_hash = 0x0102030405060708ull;
  decoded = decodeOpHeader(encodeOpHeader(v));
  ASSERT_TRUE(decoded) << decoded.status().toString();
  EXPECT_EQ(decoded->collective, Collective::kReduceScatter);
  EXPECT_EQ(decoded->root, 0xA1B2C3D4u);
  EXPECT_EQ(decoded->counts_hash, 0x0102030405060708ull);
  EXPECT_TRUE(compareDigests(v, *decoded, 2, "peer x").isOk());
}

TEST(OpHeader, LayoutIsLittleEndianAtFixedOffsets) {
  OpDigest d = sample();
  d.collective = Collective::kBroadcast;
  d.root = 3;
  d.counts_hash = 0x1122334455667788ull;
  const OpHeaderBytes bytes = encodeOpHeader(d);
  static_assert(kOpHeaderSize == 56);
  EXPECT_EQ(bytes[0], 'E');
  EXPECT_EQ(bytes[3], 'H');
  EXPECT_EQ(bytes[4], kOpHeaderVersion);
  EXPECT_EQ(kOpHeaderVersion, 3);
  EXPECT_EQ(bytes[6], 2);   // broadcast
  EXPECT_EQ(bytes[7], 9);   // bf16
  EXPECT_EQ(bytes[8], 4);   // max
  EXPECT_EQ(bytes[12], 4);  // world size
  EXPECT_EQ(bytes[16], 2);  // rank
  EXPECT_EQ(bytes[20], 77);
  EXPECT_EQ(bytes[28], 0x00);  // count 1024 = 0x400
  EXPECT_EQ(bytes[29], 0x04);
  EXPECT_EQ(bytes[36], 12);  // revision
  EXPECT_EQ(bytes[44], 3);   // root
  EXPECT_EQ(bytes[48], 0x88);
  EXPECT_EQ(bytes[55], 0x11);
}

TEST(OpHeader, BadMagicAndOtherVersionsAreRefused) {
  auto bytes = encodeOpHeader(sample());
  bytes[0] ^= 1;
  EXPECT_EQ(decodeOpHeader(bytes).status().code(), Code::kProtocolError);
  bytes = encodeOpHeader(sample());
  bytes[4] = 9;
  EXPECT_EQ(decodeOpHeader(bytes).status().code(), Code::kUnsupported);
  bytes = encodeOpHeader(sample());
  bytes[4] = 1;  // the all-reduce-only layout of version 1
  EXPECT_EQ(decodeOpHeader(bytes).status().code(), Code::kUnsupported);
  // A quant block needs quantization.
  bytes = encodeOpHeader(sample());
  bytes[11] = 1;
  EXPECT_EQ(decodeOpHeader(bytes).status().code(), Code::kProtocolError);
}

TEST(OpHeader, QuantizationTravelsAsAlgorithmWireAndBlock) {
  OpDigest d = sample();
  d.quant = {quant::QuantAlgo::kZeroPointScale, quant::WireType::kU16, 1u << 20};
  OpHeaderBytes bytes = encodeOpHeader(d);
  EXPECT_EQ(bytes[9], 0x22);   // zero_point_scale << 4 | u16
  EXPECT_EQ(bytes[10], 0xFF);  // 2^20 / 16 - 1 = 0xFFFF
  EXPECT_EQ(bytes[11], 0xFF);
  auto decoded = decodeOpHeader(bytes);
  ASSERT_TRUE(decoded) << decoded.status().toString();
  EXPECT_EQ(decoded->quant.algo, quant::QuantAlgo::kZeroPointScale);
  EXPECT_EQ(decoded->quant.wire, quant::WireType::kU16);
  EXPECT_EQ(decoded->quant.block_elems, 1u << 20);
  EXPECT_TRUE(compareDigests(d, *decoded, 2, "p").isOk());
  d.quant = {quant::QuantAlgo::kMinMax, quant::WireType::kU8, 16};
  bytes = encodeOpHeader(d);
  EXPECT_EQ(bytes[9], 0x10);
  EXPECT_EQ(bytes[10], 0);
  decoded = decodeOpHeader(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->quant.block_elems, 16u);
  // Values this build does not know are kept, and named in a mismatch.
  bytes[9] = 0x97;
  decoded = decodeOpHeader(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(compareDigests(d, *decoded, 2, "p").message(),
            "p has quantization algorithm #9/wire #7/block 16, this peer minmax/u8/block 16");
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
  theirs.quant = {quant::QuantAlgo::kMinMax, quant::WireType::kU8, 1024};
  const std::string text = compareDigests(sample(), theirs, 2, "p").message();
  EXPECT_NE(text.find("quantization minmax/u8/block 1024, this peer none"), std::string::npos)
      << text;
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

  theirs = sample();
  theirs.collective = Collective::kBroadcast;
  EXPECT_EQ(compareDigests(sample(), theirs, 2, "peer p").message(),
            "peer p has collective broadcast, this peer allReduce");
  theirs = sample();
  theirs.root = 3;
  EXPECT_EQ(compareDigests(sample(), theirs, 2, "peer p").message(),
            "peer p has root 3, this peer 0");
  theirs = sample();
  theirs.counts_hash = 0xABCDEF;
  EXPECT_EQ(compareDigests(sample(), theirs, 2, "peer p").message(),
            "peer p has counts hash 0000000000abcdef, this peer 0000000000000000");
}

TEST(OpHeader, CountsHashSeesOrderAndLength) {
  const std::vector<size_t> a = {1, 2, 3};
  const std::vector<size_t> b = {3, 2, 1};
  const std::vector<size_t> c = {1, 2, 3, 0};
  EXPECT_EQ(countsHash(a), countsHash(std::vector<size_t>{1, 2, 3}));
  EXPECT_NE(countsHash(a), countsHash(b));
  EXPECT_NE(countsHash(a), countsHash(c));
}

TEST(OpHeader, UnknownEnumValuesAreNamedNotUsed) {
  auto bytes = encodeOpHeader(sample());
  bytes[7] = 200;  // dtype
  auto decoded = decodeOpHeader(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(compareDigests(sample(), *decoded, 2, "p").message(),
            "p has dtype dtype #200, this peer bf16");
  bytes = encodeOpHeader(sample());
  bytes[6] = 99;  // collective
  decoded = decodeOpHeader(bytes);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(compareDigests(sample(), *decoded, 2, "p").message(),
            "p has collective collective #99, this peer allReduce");
}

TEST(MismatchNotice, FirstMismatchFollowsCompareDigests) {
  EXPECT_FALSE(firstMismatch(sample(), sample(), 2).has_value());
  OpDigest theirs = sample();
  theirs.count = 1000;
  theirs.op = reduce::ReduceOp::kSum;  // after the count: not the first
  auto m = firstMismatch(sample(), theirs, 2);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->field, DigestField::kCount);
  EXPECT_EQ(m->theirs, 1000u);
  EXPECT_EQ(m->mine, 1024u);
  m = firstMismatch(sample(), sample(), 3);
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->field, DigestField::kRank);
  EXPECT_EQ(m->theirs, 2u);
  EXPECT_EQ(m->mine, 3u);
}

TEST(MismatchNotice, RoundTripsAndNamesBothRanksTheFieldAndBothValues) {
  OpDigest theirs = sample();
  theirs.count = 16;
  const MismatchNotice n = mismatchNotice(*firstMismatch(sample(), theirs, 0), 0, 2);
  const OpHeaderBytes bytes = encodeMismatchNotice(n);
  EXPECT_EQ(bytes[0], 'E');
  EXPECT_EQ(bytes[3], 'N');
  EXPECT_EQ(bytes[4], kMismatchNoticeVersion);
  EXPECT_EQ(bytes[6], static_cast<uint8_t>(DigestField::kCount));
  EXPECT_EQ(bytes[8], 0);    // rank a: whose header differed
  EXPECT_EQ(bytes[12], 2);   // rank b: who found it
  EXPECT_EQ(bytes[16], 16);  // rank a's count
  EXPECT_EQ(bytes[24], 0x00);
  EXPECT_EQ(bytes[25], 0x04);  // rank b's: 1024
  EXPECT_TRUE(isMismatchNotice(bytes));
  EXPECT_FALSE(isMismatchNotice(encodeOpHeader(sample())));
  EXPECT_EQ(decodeOpHeader(bytes).status().code(), Code::kProtocolError);
  auto decoded = decodeMismatchNotice(bytes);
  ASSERT_TRUE(decoded) << decoded.status().toString();
  const Status s = noticeStatus(*decoded, "peer 3f2a9c01 (rank 1)");
  EXPECT_EQ(s.code(), Code::kInvalidUsage);
  EXPECT_EQ(s.message(),
            "peer 3f2a9c01 (rank 1) reports that the peers disagree: rank 0 has count 16, "
            "rank 2 1024");
}

TEST(MismatchNotice, NamesEveryFieldAsCompareDigestsDoes) {
  auto text = [](OpDigest theirs, uint32_t expected_rank = 2) {
    const auto m = firstMismatch(sample(), theirs, expected_rank);
    EXPECT_TRUE(m.has_value());
    auto n = decodeMismatchNotice(encodeMismatchNotice(mismatchNotice(*m, 5, 6)));
    EXPECT_TRUE(n) << n.status().toString();
    return noticeStatus(*n, "p").message();
  };
  OpDigest d = sample();
  d.dtype = reduce::DType::kF32;
  EXPECT_EQ(text(d), "p reports that the peers disagree: rank 5 has dtype f32, rank 6 bf16");
  d = sample();
  d.op = reduce::ReduceOp::kSum;
  EXPECT_EQ(text(d), "p reports that the peers disagree: rank 5 has op sum, rank 6 max");
  d = sample();
  d.quant = {quant::QuantAlgo::kZeroPointScale, quant::WireType::kU16, 1u << 20};
  EXPECT_EQ(text(d),
            "p reports that the peers disagree: rank 5 has quantization "
            "zero_point_scale/u16/block 1048576, rank 6 none");
  d = sample();
  d.collective = Collective::kBroadcast;
  EXPECT_EQ(text(d),
            "p reports that the peers disagree: rank 5 has collective broadcast, rank 6 "
            "allReduce");
  d = sample();
  d.counts_hash = 0xabcdef;
  EXPECT_EQ(text(d),
            "p reports that the peers disagree: rank 5 has counts hash 0000000000abcdef, "
            "rank 6 0000000000000000");
  d = sample();
  d.revision = 11;
  EXPECT_NE(text(d).find("rank 5 has topology revision 11, rank 6 12"), std::string::npos);
  EXPECT_EQ(text(sample(), 3),
            "p reports that the peers disagree: the peer that rank 6's ring puts at rank 5 "
            "says it has rank 2");
}

TEST(MismatchNotice, BadBytesAreRefused) {
  OpDigest theirs = sample();
  theirs.tag = 1;
  const OpHeaderBytes good =
      encodeMismatchNotice(mismatchNotice(*firstMismatch(sample(), theirs, 2), 1, 2));
  ASSERT_TRUE(decodeMismatchNotice(good));
  OpHeaderBytes bytes = good;
  bytes[4] = 2;
  EXPECT_EQ(decodeMismatchNotice(bytes).status().code(), Code::kUnsupported);
  bytes = good;
  bytes[6] = 0;  // no field
  EXPECT_EQ(decodeMismatchNotice(bytes).status().code(), Code::kProtocolError);
  bytes[6] = 12;
  EXPECT_EQ(decodeMismatchNotice(bytes).status().code(), Code::kProtocolError);
  bytes = good;
  bytes[7] = 1;
  EXPECT_EQ(decodeMismatchNotice(bytes).status().code(), Code::kProtocolError);
  bytes = good;
  bytes[55] = 1;
  EXPECT_EQ(decodeMismatchNotice(bytes).status().code(), Code::kProtocolError);
  EXPECT_EQ(decodeMismatchNotice(encodeOpHeader(sample())).status().code(), Code::kProtocolError);
}

}  // namespace
}  // namespace eccl::coll
