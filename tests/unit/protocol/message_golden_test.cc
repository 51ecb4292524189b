// Exact encodings: round trips cannot catch an encoder and decoder that agree
// on the wrong layout, so each message is also checked byte for byte against
// the documented little-endian layout. (Control plane: control_message_golden_test.cc.)
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/protocol/message_samples.h"

namespace eccl::protocol::test {
namespace {

TEST(MessageGolden, Hello) {
  const Hello m = MessageTraits<Hello>::sample();
  std::vector<uint8_t> expected;
  appendLe<uint8_t>(expected, 1);  // ConnectionKind::kData
  appendBytes(expected, m.endpoint.bytes);
  appendBytes(expected, m.channel.bytes);
  appendLe<uint16_t>(expected, 3);
  appendLe<uint16_t>(expected, 7);
  appendLe<uint32_t>(expected, 1u << 20);
  appendLe<uint64_t>(expected, 0x0123456789abcdefULL);
  appendBytes(expected, m.auth_nonce);
  appendBytes(expected, m.auth_tag);
  EXPECT_EQ(encodePayload(m), expected);
  // Hello has no variable part: every Hello is exactly the declared maximum.
  EXPECT_EQ(expected.size(), Hello::kMaxEncodedSize);
}

TEST(MessageGolden, HelloAck) {
  const HelloAck m = MessageTraits<HelloAck>::sample();
  std::vector<uint8_t> expected;
  appendBytes(expected, m.endpoint.bytes);
  appendLe<uint8_t>(expected, 0);  // kAccepted
  appendLe<uint32_t>(expected, 65536);
  appendLe<uint64_t>(expected, 0xfedcba9876543210ULL);
  appendBytes(expected, m.auth_nonce);
  appendBytes(expected, m.auth_tag);
  appendString(expected, "welcome");
  EXPECT_EQ(encodePayload(m), expected);
}

TEST(MessageGolden, Credit) {
  const std::vector<uint8_t> expected = {0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
                                         0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12, 0x00, 0x00};
  EXPECT_EQ(encodePayload(MessageTraits<Credit>::sample()), expected);
}

TEST(MessageGolden, PoolCredit) {
  const std::vector<uint8_t> expected = {0x18, 0x07, 0xf6, 0xe5, 0xd4, 0xc3, 0xb2, 0xa1};
  EXPECT_EQ(encodePayload(MessageTraits<PoolCredit>::sample()), expected);
}

TEST(MessageGolden, StreamError) {
  std::vector<uint8_t> expected;
  appendLe<uint64_t>(expected, 0x0102030405060708ULL);
  appendLe<uint64_t>(expected, 0x1112131415161718ULL);
  appendLe<uint8_t>(expected, 1);  // kSender
  appendLe<uint64_t>(expected, 0x2122232425262728ULL);
  appendLe<uint16_t>(expected, static_cast<uint16_t>(Code::kOutOfMemory));
  appendString(expected, "buffer too small");
  EXPECT_EQ(encodePayload(MessageTraits<StreamError>::sample()), expected);
}

TEST(MessageGolden, Ping) {
  const std::vector<uint8_t> expected = {0x0d, 0xf0, 0xfe, 0xca, 0xef, 0xbe, 0xad, 0xde};
  EXPECT_EQ(encodePayload(MessageTraits<Ping>::sample()), expected);
}

TEST(MessageGolden, Goodbye) {
  std::vector<uint8_t> expected;
  appendLe<uint16_t>(expected, static_cast<uint16_t>(Code::kAborted));
  appendString(expected, "shutting down");
  EXPECT_EQ(encodePayload(MessageTraits<Goodbye>::sample()), expected);
}

TEST(MessageGolden, Delivered) {
  std::vector<uint8_t> expected;
  appendLe<uint16_t>(expected, 3);
  appendLe<uint64_t>(expected, 1);
  appendLe<uint64_t>(expected, 0x0102030405060708ULL);
  appendLe<uint64_t>(expected, 3);
  EXPECT_EQ(encodePayload(MessageTraits<Delivered>::sample()), expected);
}

TEST(MessageGolden, CodeNumbersAreStableOnTheWire) {
  // StreamError and Goodbye carry Code as a number: renumbering it breaks old peers.
  EXPECT_EQ(static_cast<uint16_t>(Code::kOk), 0);
  EXPECT_EQ(static_cast<uint16_t>(Code::kProtocolError), 6);
  EXPECT_EQ(static_cast<uint16_t>(Code::kUnsupported), 11);
  EXPECT_EQ(static_cast<uint16_t>(Code::kAuthError), 12);
}

TEST(MessageGolden, FrameOfAMessageIsHeaderThenPayload) {
  const Ping ping = MessageTraits<Ping>::sample();
  std::vector<uint8_t> expected = {'E', 'C', 'C', 'L', 1, 7, 0, 0, 8, 0, 0, 0};
  expected.resize(kFrameHeaderSize, 0);  // reserved and checksum: zero without the flag
  appendBytes(expected, encodePayload(ping));
  EXPECT_EQ(encodeFrame(ping), expected);
}

}  // namespace
}  // namespace eccl::protocol::test
