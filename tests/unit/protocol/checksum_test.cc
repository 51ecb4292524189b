// Payload checksums: XXH3-64 over the payload, one-shot and streaming, the
// same values on every ISA path as Debian's libxxhash gives.
#include "src/protocol/checksum.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <span>
#include <string>
#include <vector>

#include "src/reduce/reduce.h"
#include "tests/unit/protocol/message_samples.h"

namespace eccl::protocol::test {
namespace {

std::vector<uint8_t> bytesOf(std::string_view text) {
  return std::vector<uint8_t>(text.begin(), text.end());
}

TEST(Checksum, IsXxh3Of64Bits) {
  // Known XXH3-64 (seed 0) values: peers built elsewhere must agree bit for bit.
  EXPECT_EQ(payloadChecksum({}), 0x2d06800538d394c2ULL);
  EXPECT_NE(payloadChecksum(bytesOf("a")), payloadChecksum(bytesOf("b")));
}

TEST(Checksum, StreamingInPiecesEqualsOneShot) {
  std::vector<uint8_t> payload(10000);
  for (size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<uint8_t>(i * 31 + 7);
  const uint64_t expected = payloadChecksum(payload);
  for (size_t piece : {1u, 7u, 64u, 240u, 4096u, 10000u}) {
    StreamingChecksum streaming;
    for (size_t at = 0; at < payload.size(); at += piece) {
      streaming.update(std::span(payload).subspan(at, std::min(piece, payload.size() - at)));
    }
    EXPECT_EQ(streaming.digest(), expected) << "pieces of " << piece;
  }
}

// Every path this CPU has: a peer on another CPU (or with ECCL_ISA set) must
// compute the same checksum. Sizes cover each of XXH3's code paths (0, 1-3,
// 4-8, 9-16, 17-128, 129-240, long inputs with and without a partial stripe
// and block) and streaming pieces that split stripes and blocks.
TEST(Checksum, EveryIsaPathGivesTheLibrarysValues) {
  const reduce::Isa before = reduce::activeIsa();
  std::vector<uint8_t> payload((1 << 20) + 4099);
  for (size_t i = 0; i < payload.size(); ++i)
    payload[i] = static_cast<uint8_t>((i * 131) ^ (i >> 7));
  std::vector<size_t> sizes;
  for (size_t size = 0; size <= 300; ++size)
    sizes.push_back(size);
  for (size_t size : {1023u, 1024u, 1025u, 65536u, 65537u, 1048576u})
    sizes.push_back(size);
  sizes.push_back(payload.size());
  for (reduce::Isa isa : {reduce::Isa::kScalar, reduce::Isa::kAvx2, reduce::Isa::kAvx512}) {
    if (isa > reduce::bestSupportedIsa()) continue;
    ASSERT_TRUE(reduce::setIsa(isa).isOk());
    SCOPED_TRACE(std::string(reduce::isaName(isa)) + " -> " + checksumPathName());
    for (size_t size : sizes) {
      const auto bytes = std::span(payload).first(size);
      const uint64_t expected = XXH3_64bits(bytes.data(), bytes.size());
      ASSERT_EQ(payloadChecksum(bytes), expected) << size << " bytes";
      StreamingChecksum streaming;
      for (size_t at = 0, piece = 1; at < size; at += piece, piece = piece * 3 + 1)
        streaming.update(bytes.subspan(at, std::min(piece, size - at)));
      ASSERT_EQ(streaming.digest(), expected) << size << " bytes in pieces";
    }
  }
  ASSERT_TRUE(reduce::setIsa(before).isOk());
}

TEST(Checksum, EcclIsaScalarHashesOnTheBaselineBuild) {
  const reduce::Isa before = reduce::activeIsa();
  ASSERT_TRUE(reduce::setIsa(reduce::Isa::kScalar).isOk());
  EXPECT_STREQ(checksumPathName(), "baseline");
  if (reduce::bestSupportedIsa() != reduce::Isa::kScalar) {
    ASSERT_TRUE(reduce::setIsa(reduce::bestSupportedIsa()).isOk());
    EXPECT_STREQ(checksumPathName(), "avx2");
  }
  ASSERT_TRUE(reduce::setIsa(before).isOk());
}

TEST(Checksum, ResetStartsOver) {
  StreamingChecksum streaming;
  streaming.update(bytesOf("stale bytes from the previous chunk"));
  streaming.reset();
  streaming.update(bytesOf("fresh"));
  EXPECT_EQ(streaming.digest(), payloadChecksum(bytesOf("fresh")));
  streaming.reset();
  EXPECT_EQ(streaming.digest(), payloadChecksum({}));
}

TEST(Checksum, FlaggedFrameCarriesThePayloadsChecksum) {
  const Goodbye goodbye = MessageTraits<Goodbye>::sample();
  std::vector<uint8_t> frame = encodeFrame(goodbye, true);
  const std::vector<uint8_t> payload = encodePayload(goodbye);
  auto header = decodeFrameHeader(frame);
  ASSERT_TRUE(header.isOk());
  EXPECT_TRUE(header->has(kFlagChecksum));
  EXPECT_EQ(header->checksum, payloadChecksum(payload));
  EXPECT_TRUE(verifyChecksum(*header, payload).isOk());
}

TEST(Checksum, WrongChecksumValueIsRefused) {
  FrameHeader header;
  header.type = MessageType::kPing;
  header.flags = kFlagChecksum;
  const std::vector<uint8_t> payload = encodePayload(MessageTraits<Ping>::sample());
  header.checksum = payloadChecksum(payload) ^ 1;
  Status status = verifyChecksum(header, payload);
  EXPECT_EQ(status.code(), Code::kProtocolError);
  EXPECT_EQ(status.message(), "Ping frame fails its payload checksum (corrupted in transit)");
}

TEST(Checksum, UnflaggedFrameIsNotChecked) {
  FrameHeader header;
  header.type = MessageType::kChunk;
  header.checksum = 0x1234;  // ignored without the flag (the header decoder refuses it anyway)
  EXPECT_TRUE(verifyChecksum(header, bytesOf("anything at all")).isOk());
}

}  // namespace
}  // namespace eccl::protocol::test
