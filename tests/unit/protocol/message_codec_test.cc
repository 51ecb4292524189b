// Properties every message shares, data plane and membership control plane: it
// survives a frame round trip with and without a checksum, every truncation is
// refused with the field it stopped in, and bytes past the end are refused.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/unit/protocol/message_samples.h"

namespace eccl::protocol::test {
namespace {

template <typename Message>
class MessageCodecTest : public ::testing::Test {
 protected:
  using Traits = MessageTraits<Message>;
  static std::string typeName() { return std::string(messageTypeName(Message::kType)); }
};

// Every message with encode()/decode(): the data plane (messages.h), the
// membership control plane (control_messages.h), then the pipeline stages
// (stage_messages.h) and the peer reports and anomaly events (report_messages.h).
using Messages =
    ::testing::Types<Hello, HelloAck, Credit, PoolCredit, StreamError, Ping, Goodbye, Delivered,
                     Register, Registered, Heartbeat, HeartbeatAck, TopologyVote, Topology,
                     ChannelsReady, TopologyCommit, PeerEvent, GroupStatus, Leave, ControlError,
                     PeerLookup, PeerAddress, OpReport, OpVerdict, StageMetric, StageQuery,
                     StageInfo, StageEvent, StageAnnounce, PeerReport, AnomalyEvent>;
TYPED_TEST_SUITE(MessageCodecTest, Messages);

// Encodes a frame, checks its header and checksum, and decodes its payload.
template <typename Message>
Message frameRoundTrip(const Message& message, bool with_checksum) {
  std::vector<uint8_t> frame = encodeFrame(message, with_checksum);
  auto header = decodeFrameHeader(frame);
  EXPECT_TRUE(header.isOk()) << header.status().toString();
  if (!header) return {};
  const std::span<const uint8_t> payload = std::span(frame).subspan(kFrameHeaderSize);
  EXPECT_EQ(header->type, Message::kType);
  EXPECT_EQ(header->length, payload.size());
  if (with_checksum) {
    EXPECT_EQ(header->flags, kFlagChecksum);
    EXPECT_EQ(header->checksum, payloadChecksum(payload));
  } else {
    EXPECT_EQ(header->flags, 0);
    EXPECT_EQ(header->checksum, 0u);
  }
  Status checksum = verifyChecksum(*header, payload);
  EXPECT_TRUE(checksum.isOk()) << checksum.toString();
  auto decoded = decodeMessage<Message>(payload);
  EXPECT_TRUE(decoded.isOk()) << decoded.status().toString();
  return decoded ? *decoded : Message{};
}

TYPED_TEST(MessageCodecTest, RoundTripsWithoutChecksum) {
  const TypeParam sample = TestFixture::Traits::sample();
  TestFixture::Traits::expectSame(frameRoundTrip(sample, false), sample);
}

TYPED_TEST(MessageCodecTest, RoundTripsWithChecksum) {
  const TypeParam sample = TestFixture::Traits::sample();
  TestFixture::Traits::expectSame(frameRoundTrip(sample, true), sample);
}

TYPED_TEST(MessageCodecTest, LayoutCoversTheWholeEncoding) {
  // The truncation test below relies on this layout being the real one.
  const TypeParam sample = TestFixture::Traits::sample();
  size_t total = 0;
  for (const WireField& field : TestFixture::Traits::layout(sample))
    total += field.size;
  EXPECT_EQ(total, encodePayload(sample).size());
}

TYPED_TEST(MessageCodecTest, EveryTruncationNamesTheFieldItCutInto) {
  const TypeParam sample = TestFixture::Traits::sample();
  const std::vector<uint8_t> payload = encodePayload(sample);
  size_t field_start = 0;
  for (const WireField& field : TestFixture::Traits::layout(sample)) {
    for (size_t have = 0; have < field.size; ++have) {
      const size_t length = field_start + have;
      auto decoded = decodeMessage<TypeParam>(std::span(payload).first(length));
      ASSERT_FALSE(decoded.isOk()) << "prefix of " << length << " bytes was accepted";
      EXPECT_EQ(decoded.status().code(), Code::kProtocolError);
      EXPECT_EQ(decoded.status().message(),
                TestFixture::typeName() + ": truncated at " + field.name + ": need " +
                    std::to_string(field.size) + " bytes, have " + std::to_string(have))
          << "prefix of " << length << " bytes";
    }
    field_start += field.size;
  }
  EXPECT_EQ(field_start, payload.size());
}

TYPED_TEST(MessageCodecTest, TrailingBytesAreRefused) {
  const TypeParam sample = TestFixture::Traits::sample();
  for (size_t extra : {1u, 3u}) {
    std::vector<uint8_t> payload = encodePayload(sample);
    payload.insert(payload.end(), extra, 0);
    auto decoded = decodeMessage<TypeParam>(payload);
    ASSERT_FALSE(decoded.isOk());
    EXPECT_EQ(decoded.status().code(), Code::kProtocolError);
    EXPECT_EQ(decoded.status().message(),
              TestFixture::typeName() + ": " + std::to_string(extra) + " trailing bytes");
  }
}

TYPED_TEST(MessageCodecTest, FrameFitsTheTypesLengthLimit) {
  const std::vector<uint8_t> frame = encodeFrame(TestFixture::Traits::sample());
  EXPECT_LE(frame.size() - kFrameHeaderSize, maxPayloadLength(TypeParam::kType));
}

TYPED_TEST(MessageCodecTest, CorruptedPayloadFailsItsChecksum) {
  std::vector<uint8_t> frame = encodeFrame(TestFixture::Traits::sample(), true);
  auto header = decodeFrameHeader(frame);
  ASSERT_TRUE(header.isOk());
  for (size_t i = kFrameHeaderSize; i < frame.size(); ++i) {
    std::vector<uint8_t> corrupted = frame;
    corrupted[i] ^= 0x01;
    Status status = verifyChecksum(*header, std::span(corrupted).subspan(kFrameHeaderSize));
    ASSERT_FALSE(status.isOk()) << "flip at byte " << i << " went unnoticed";
    EXPECT_EQ(status.code(), Code::kProtocolError);
    EXPECT_EQ(status.message(),
              TestFixture::typeName() + " frame fails its payload checksum (corrupted in transit)");
  }
}

}  // namespace
}  // namespace eccl::protocol::test
