// Semantic checks of the data-plane message decoders (messages.h): enums,
// ranges, ids and string limits. Every rejection is a ProtocolError that names
// the problem. The control plane's are in control_message_validation_test.cc.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "tests/unit/protocol/message_samples.h"

namespace eccl::protocol::test {
namespace {

// ---- Hello --------------------------------------------------------------------

TEST(HelloValidation, SampleIsAccepted) {
  EXPECT_EQ(verdict(MessageTraits<Hello>::sample()), "accepted");
}

TEST(HelloValidation, UnknownConnectionKind) {
  for (uint8_t kind : {0, 2, 255}) {
    std::vector<uint8_t> payload = encodePayload(MessageTraits<Hello>::sample());
    payload[0] = kind;
    EXPECT_EQ(verdict<Hello>(payload),
              "ProtocolError: Hello: unknown connection kind " + std::to_string(kind));
  }
}

TEST(HelloValidation, ConnectionCountOutOfRange) {
  Hello m = MessageTraits<Hello>::sample();
  m.connection_index = 0;
  m.connection_count = 0;
  EXPECT_EQ(verdict(m), "ProtocolError: Hello: connection_count 0 outside 1..256");
  m.connection_count = 257;
  EXPECT_EQ(verdict(m), "ProtocolError: Hello: connection_count 257 outside 1..256");
  m.connection_count = 65535;
  EXPECT_EQ(verdict(m), "ProtocolError: Hello: connection_count 65535 outside 1..256");
}

TEST(HelloValidation, ConnectionCountLimitsAreInclusive) {
  Hello m = MessageTraits<Hello>::sample();
  m.connection_index = 0;
  m.connection_count = 1;
  EXPECT_EQ(verdict(m), "accepted");
  m.connection_index = 255;
  m.connection_count = Hello::kMaxConnections;
  EXPECT_EQ(verdict(m), "accepted");
}

TEST(HelloValidation, IndexMustBeBelowCount) {
  Hello m = MessageTraits<Hello>::sample();
  m.connection_count = 7;
  m.connection_index = 7;
  EXPECT_EQ(verdict(m), "ProtocolError: Hello: connection_index 7 >= connection_count 7");
  m.connection_count = 1;
  m.connection_index = 65535;
  EXPECT_EQ(verdict(m), "ProtocolError: Hello: connection_index 65535 >= connection_count 1");
}

TEST(HelloValidation, ChunkBytesOutOfRange) {
  Hello m = MessageTraits<Hello>::sample();
  m.chunk_bytes = 0;
  EXPECT_EQ(verdict(m), "ProtocolError: Hello: chunk_bytes 0 outside 1..16777216");
  m.chunk_bytes = kMaxChunkPayload + 1;
  EXPECT_EQ(verdict(m), "ProtocolError: Hello: chunk_bytes 16777217 outside 1..16777216");
  m.chunk_bytes = std::numeric_limits<uint32_t>::max();
  EXPECT_EQ(verdict(m), "ProtocolError: Hello: chunk_bytes 4294967295 outside 1..16777216");
}

TEST(HelloValidation, ChunkBytesLimitsAreInclusive) {
  Hello m = MessageTraits<Hello>::sample();
  m.chunk_bytes = 1;
  EXPECT_EQ(verdict(m), "accepted");
  m.chunk_bytes = kMaxChunkPayload;
  EXPECT_EQ(verdict(m), "accepted");
}

TEST(HelloValidation, ZeroIdsAreRefused) {
  Hello zero_endpoint = MessageTraits<Hello>::sample();
  zero_endpoint.endpoint = EndpointId{};
  EXPECT_EQ(verdict(zero_endpoint), "ProtocolError: Hello: zero endpoint or channel id");
  Hello zero_channel = MessageTraits<Hello>::sample();
  zero_channel.channel = EndpointId{};
  EXPECT_EQ(verdict(zero_channel), "ProtocolError: Hello: zero endpoint or channel id");
}

// ---- HelloAck -----------------------------------------------------------------

constexpr size_t kHelloAckStatusOffset = 16;

TEST(HelloAckValidation, EveryStatusDecodes) {
  for (HandshakeStatus status : {HandshakeStatus::kAccepted, HandshakeStatus::kRejected,
                                 HandshakeStatus::kUnsupported, HandshakeStatus::kOverloaded}) {
    HelloAck m = MessageTraits<HelloAck>::sample();
    m.status = status;
    auto decoded = decodeMessage<HelloAck>(encodePayload(m));
    ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
    EXPECT_EQ(decoded->status, status);
  }
}

TEST(HelloAckValidation, UnknownStatus) {
  for (uint8_t status : {4, 255}) {
    std::vector<uint8_t> payload = encodePayload(MessageTraits<HelloAck>::sample());
    payload[kHelloAckStatusOffset] = status;
    EXPECT_EQ(verdict<HelloAck>(payload),
              "ProtocolError: HelloAck: unknown handshake status " + std::to_string(status));
  }
}

TEST(HelloAckValidation, AcceptanceNeedsAChunkSizeAndAnId) {
  HelloAck m = MessageTraits<HelloAck>::sample();
  m.chunk_bytes = 0;
  EXPECT_EQ(verdict(m), "ProtocolError: HelloAck: chunk_bytes 0 outside 1..16777216");
  m.chunk_bytes = kMaxChunkPayload + 1;
  EXPECT_EQ(verdict(m), "ProtocolError: HelloAck: chunk_bytes 16777217 outside 1..16777216");
  m.chunk_bytes = kMaxChunkPayload;
  EXPECT_EQ(verdict(m), "accepted");
  m.endpoint = EndpointId{};
  EXPECT_EQ(verdict(m), "ProtocolError: HelloAck: zero endpoint id");
}

TEST(HelloAckValidation, RefusalNeedsNoParameters) {
  // A listener that refuses may not have a chunk size to offer.
  HelloAck m = MessageTraits<HelloAck>::sample();
  m.status = HandshakeStatus::kRejected;
  m.chunk_bytes = 0;
  m.endpoint = EndpointId{};
  m.reason = "channel id already in use";
  auto decoded = decodeMessage<HelloAck>(encodePayload(m));
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  MessageTraits<HelloAck>::expectSame(*decoded, m);
}

// The fixed part of a HelloAck followed by a reason that declares `declared` bytes.
std::vector<uint8_t> helloAckWithReason(uint16_t declared, size_t present) {
  HelloAck m = MessageTraits<HelloAck>::sample();
  m.reason.clear();
  std::vector<uint8_t> payload = encodePayload(m);
  payload.resize(payload.size() - 2);
  appendLe<uint16_t>(payload, declared);
  payload.insert(payload.end(), present, 'r');
  return payload;
}

TEST(HelloAckValidation, ReasonLongerThanItsLimit) {
  EXPECT_EQ(verdict<HelloAck>(helloAckWithReason(257, 257)),
            "ProtocolError: HelloAck: reason is 257 bytes, limit 256");
  // The limit is checked before the bytes are looked for.
  EXPECT_EQ(verdict<HelloAck>(helloAckWithReason(65535, 0)),
            "ProtocolError: HelloAck: reason is 65535 bytes, limit 256");
  EXPECT_EQ(verdict<HelloAck>(helloAckWithReason(256, 256)), "accepted");
}

TEST(HelloAckValidation, EncoderCutsReasonToItsLimit) {
  HelloAck m = MessageTraits<HelloAck>::sample();
  m.reason = std::string(300, 'x');
  std::vector<uint8_t> frame = encodeFrame(m);
  EXPECT_EQ(frame.size() - kFrameHeaderSize, HelloAck::kMaxEncodedSize);
  auto decoded = decodeMessage<HelloAck>(std::span(frame).subspan(kFrameHeaderSize));
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(decoded->reason, std::string(HelloAck::kMaxReason, 'x'));
}

// ---- Credit, PoolCredit, Ping ---------------------------------------------------

TEST(CreditValidation, BytesUpToTheMessageLimit) {
  Credit m{5, ChunkHeader::kMaxMessageBytes};
  EXPECT_EQ(verdict(m), "accepted");
  m.bytes = ChunkHeader::kMaxMessageBytes + 1;
  EXPECT_EQ(verdict(m), "ProtocolError: Credit: credit beyond message limit");
  m.bytes = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(verdict(m), "ProtocolError: Credit: credit beyond message limit");
}

TEST(CreditValidation, EmptyBufferIsACredit) {
  auto decoded = decodeMessage<Credit>(encodePayload(Credit{9, 0}));
  ASSERT_TRUE(decoded.isOk());
  EXPECT_EQ(decoded->stream, 9u);
  EXPECT_EQ(decoded->bytes, 0u);
}

TEST(PoolCreditValidation, AnyAmountDecodes) {
  auto decoded = decodeMessage<PoolCredit>(encodePayload(PoolCredit{~uint64_t{0}}));
  ASSERT_TRUE(decoded.isOk());
  EXPECT_EQ(decoded->bytes, ~uint64_t{0});
}

TEST(PingValidation, AnyNonceDecodes) {
  auto decoded = decodeMessage<Ping>(encodePayload(Ping{0}));
  ASSERT_TRUE(decoded.isOk());
  EXPECT_EQ(decoded->nonce, 0u);
}

// ---- StreamError ----------------------------------------------------------------

constexpr size_t kStreamErrorOriginOffset = 16;
constexpr size_t kStreamErrorCodeOffset = 25;

TEST(StreamErrorValidation, BothOriginsAndEveryErrorCodeDecode) {
  for (StreamErrorOrigin origin : {StreamErrorOrigin::kSender, StreamErrorOrigin::kReceiver}) {
    for (int code = 1; code <= static_cast<int>(kLastCode); ++code) {
      StreamError m = MessageTraits<StreamError>::sample();
      m.origin = origin;
      m.code = static_cast<Code>(code);
      auto decoded = decodeMessage<StreamError>(encodePayload(m));
      ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
      MessageTraits<StreamError>::expectSame(*decoded, m);
    }
  }
}

TEST(StreamErrorValidation, InvalidOrigin) {
  for (uint8_t origin : {0, 3, 255}) {
    std::vector<uint8_t> payload = encodePayload(MessageTraits<StreamError>::sample());
    payload[kStreamErrorOriginOffset] = origin;
    EXPECT_EQ(verdict<StreamError>(payload),
              "ProtocolError: StreamError: invalid origin " + std::to_string(origin));
  }
}

TEST(StreamErrorValidation, OkIsNotAnErrorCode) {
  std::vector<uint8_t> payload =
      withU16(encodePayload(MessageTraits<StreamError>::sample()), kStreamErrorCodeOffset, 0);
  EXPECT_EQ(verdict<StreamError>(payload), "ProtocolError: StreamError: invalid error code 0");
}

TEST(StreamErrorValidation, UnknownErrorCode) {
  for (uint16_t code : {13, 65535}) {
    std::vector<uint8_t> payload =
        withU16(encodePayload(MessageTraits<StreamError>::sample()), kStreamErrorCodeOffset, code);
    EXPECT_EQ(verdict<StreamError>(payload),
              "ProtocolError: StreamError: invalid error code " + std::to_string(code));
  }
}

TEST(StreamErrorValidation, TextLongerThanItsLimit) {
  StreamError m = MessageTraits<StreamError>::sample();
  m.text.clear();
  std::vector<uint8_t> payload = encodePayload(m);
  payload.resize(payload.size() - 2);
  appendLe<uint16_t>(payload, 1025);
  payload.insert(payload.end(), 1025, 't');
  EXPECT_EQ(verdict<StreamError>(payload),
            "ProtocolError: StreamError: text is 1025 bytes, limit 1024");
}

TEST(StreamErrorValidation, EncoderCutsTextToItsLimit) {
  StreamError m = MessageTraits<StreamError>::sample();
  m.text = std::string(2000, 'e');
  std::vector<uint8_t> frame = encodeFrame(m);
  EXPECT_EQ(frame.size() - kFrameHeaderSize, StreamError::kMaxEncodedSize);
  ASSERT_TRUE(decodeFrameHeader(frame).isOk());
  auto decoded = decodeMessage<StreamError>(std::span(frame).subspan(kFrameHeaderSize));
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(decoded->text, std::string(StreamError::kMaxText, 'e'));
}

// ---- Goodbye --------------------------------------------------------------------

TEST(GoodbyeValidation, EveryCodeIncludingOkDecodes) {
  for (int code = 0; code <= static_cast<int>(kLastCode); ++code) {
    Goodbye m = MessageTraits<Goodbye>::sample();
    m.code = static_cast<Code>(code);
    auto decoded = decodeMessage<Goodbye>(encodePayload(m));
    ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
    EXPECT_EQ(decoded->code, m.code);
  }
}

TEST(GoodbyeValidation, UnknownCode) {
  for (uint16_t code : {13, 65535}) {
    std::vector<uint8_t> payload =
        withU16(encodePayload(MessageTraits<Goodbye>::sample()), 0, code);
    EXPECT_EQ(verdict<Goodbye>(payload),
              "ProtocolError: Goodbye: invalid code " + std::to_string(code));
  }
}

TEST(GoodbyeValidation, TextLimits) {
  std::vector<uint8_t> payload;
  appendLe<uint16_t>(payload, 0);
  appendLe<uint16_t>(payload, 1025);
  payload.insert(payload.end(), 1025, 'g');
  EXPECT_EQ(verdict<Goodbye>(payload), "ProtocolError: Goodbye: text is 1025 bytes, limit 1024");

  Goodbye longest;
  longest.text = std::string(Goodbye::kMaxText, 'g');
  std::vector<uint8_t> frame = encodeFrame(longest);
  EXPECT_EQ(frame.size() - kFrameHeaderSize, Goodbye::kMaxEncodedSize);
  EXPECT_TRUE(decodeFrameHeader(frame).isOk());
  EXPECT_EQ(verdict(longest), "accepted");
}

TEST(GoodbyeValidation, ControlBytesInTextArriveUnchanged) {
  // The decoder keeps peer text as sent; printable() sanitises it where it is shown.
  Goodbye m;
  m.text = std::string("bye\0\n\x1b[2J", 10);
  auto decoded = decodeMessage<Goodbye>(encodePayload(m));
  ASSERT_TRUE(decoded.isOk());
  EXPECT_EQ(decoded->text, m.text);
}

// ---- Delivered ------------------------------------------------------------------

TEST(DeliveredValidation, CountOutOfRange) {
  Delivered none;
  EXPECT_EQ(verdict(none), "ProtocolError: Delivered: count 0 outside 1..512");
  Delivered too_many;
  too_many.messages.assign(Delivered::kMaxMessages + 1, 7);
  EXPECT_EQ(verdict(too_many), "ProtocolError: Delivered: count 513 outside 1..512");
}

TEST(DeliveredValidation, CountIsCheckedBeforeTheNumbersAreRead) {
  // A count of 65535 with nothing after it: refused for the count, not read as a truncation.
  std::vector<uint8_t> payload;
  appendLe<uint16_t>(payload, 65535);
  EXPECT_EQ(verdict<Delivered>(payload), "ProtocolError: Delivered: count 65535 outside 1..512");
}

TEST(DeliveredValidation, LargestListFitsTheFrameLimit) {
  Delivered largest;
  for (uint64_t i = 0; i < Delivered::kMaxMessages; ++i)
    largest.messages.push_back(i * 1000 + 1);
  std::vector<uint8_t> frame = encodeFrame(largest);
  EXPECT_EQ(frame.size() - kFrameHeaderSize, Delivered::kMaxEncodedSize);
  ASSERT_TRUE(decodeFrameHeader(frame).isOk());
  auto decoded = decodeMessage<Delivered>(std::span(frame).subspan(kFrameHeaderSize));
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(decoded->messages, largest.messages);
}

TEST(DeliveredValidation, CountLargerThanTheListPresent) {
  std::vector<uint8_t> payload = encodePayload(MessageTraits<Delivered>::sample());
  payload[0] = 4;  // claims four numbers, carries three
  EXPECT_EQ(verdict<Delivered>(payload),
            "ProtocolError: Delivered: truncated at message: need 8 bytes, have 0");
}

TEST(DeliveredValidation, CountSmallerThanTheListPresent) {
  std::vector<uint8_t> payload = encodePayload(MessageTraits<Delivered>::sample());
  payload[0] = 2;
  EXPECT_EQ(verdict<Delivered>(payload), "ProtocolError: Delivered: 8 trailing bytes");
}

}  // namespace
}  // namespace eccl::protocol::test
