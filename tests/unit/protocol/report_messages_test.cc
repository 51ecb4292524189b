// Peer reports and anomaly events on the wire (report_messages.h): the exact
// encoding, the declared maximum, and every refusal of a malformed or
// inconsistent message.
// Round trips and field-named truncations are covered with the other messages
// in message_codec_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "tests/unit/protocol/message_samples.h"

namespace eccl::protocol::test {
namespace {

std::string refused(const std::string& message) {
  return "ProtocolError: PeerReport: " + message;
}

// Where the fixed fields start on the wire.
constexpr size_t kPhaseAt = 8 + 8 + 8;
constexpr size_t kLinkCountAt = kPhaseAt + 1 + 8 + 4 + 16 + 4;
constexpr size_t kFirstLinkAt = kLinkCountAt + 2;

// A report of `count` links to distinct nonzero peers, nothing running.
PeerReport reportWithLinks(size_t count) {
  PeerReport m;
  m.revision = 7;
  for (size_t i = 0; i < count; ++i) {
    LinkReport link;
    link.peer = sampleId(static_cast<uint8_t>(i));
    link.bytes_sent = i;
    link.bytes_received = 2 * i;
    link.wait_ns = 3 * i;
    link.send_busy_ns = 4 * i;
    link.send_stalled_ms = static_cast<uint32_t>(5 * i);
    m.links.push_back(link);
  }
  return m;
}

// ---- Golden encodings ------------------------------------------------------------

TEST(PeerReportGolden, EveryFieldThenEveryLink) {
  const PeerReport m = MessageTraits<PeerReport>::sample();
  std::vector<uint8_t> expected;
  appendLe<uint64_t>(expected, 0x0102030405060708ULL);  // revision
  appendLe<uint64_t>(expected, 0x1112131415161718ULL);  // ops_completed
  appendLe<uint64_t>(expected, 0x2122232425262728ULL);  // ops_failed
  appendLe<uint8_t>(expected, 3);                       // RunningPhase::kData
  appendLe<uint64_t>(expected, 0x3132333435363738ULL);  // running_tag
  appendLe<uint32_t>(expected, 0x41424344);             // running_ms
  appendBytes(expected, sampleId(0x70).bytes);          // waiting_on
  appendLe<uint32_t>(expected, 0x51525354);             // waiting_ms
  appendLe<uint16_t>(expected, 2);                      // link count
  appendBytes(expected, sampleId(0x10).bytes);          // link 0: peer
  appendLe<uint64_t>(expected, 0x6162636465666768ULL);  //   bytes_sent
  appendLe<uint64_t>(expected, 0x7172737475767778ULL);  //   bytes_received
  appendLe<uint64_t>(expected, 0x8182838485868788ULL);  //   wait_ns
  appendLe<uint64_t>(expected, 0xc1c2c3c4c5c6c7c8ULL);  //   send_busy_ns
  appendLe<uint32_t>(expected, 0xd1d2d3d4);             //   send_stalled_ms
  appendBytes(expected, sampleId(0x20).bytes);          // link 1: peer
  appendLe<uint64_t>(expected, 0x9192939495969798ULL);  //   bytes_sent
  appendLe<uint64_t>(expected, 0xa1a2a3a4a5a6a7a8ULL);  //   bytes_received
  appendLe<uint64_t>(expected, 0xb1b2b3b4b5b6b7b8ULL);  //   wait_ns
  appendLe<uint64_t>(expected, 0xe1e2e3e4e5e6e7e8ULL);  //   send_busy_ns
  appendLe<uint32_t>(expected, 0xf1f2f3f4);             //   send_stalled_ms
  EXPECT_EQ(encodePayload(m), expected);
  EXPECT_EQ(expected.size(), PeerReport::kFixedSize + 2 * LinkReport::kEncodedSize);
  // The first bytes spelled out, so a swapped field or a big-endian put shows at once.
  const std::vector<uint8_t> head(expected.begin(), expected.begin() + 9);
  EXPECT_EQ(head, (std::vector<uint8_t>{0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, 0x18}));
  EXPECT_EQ(expected[kPhaseAt], 3);
  EXPECT_EQ(expected[kLinkCountAt], 2);
  EXPECT_EQ(expected[kLinkCountAt + 1], 0);
  EXPECT_EQ(expected[kFirstLinkAt], 0x11) << "sampleId(0x10) starts at 0x11";
}

TEST(PeerReportGolden, IdleReportIsTheFixedPartWithZeros) {
  PeerReport m;
  m.revision = 0x0102030405060708ULL;
  m.ops_completed = 9;
  std::vector<uint8_t> expected = {8, 7, 6, 5, 4, 3, 2, 1, 9, 0, 0, 0, 0, 0, 0, 0};
  expected.resize(PeerReport::kFixedSize, 0);
  EXPECT_EQ(encodePayload(m), expected);
  EXPECT_EQ(verdict(m), "accepted");
}

TEST(PeerReportGolden, SixtyFourLinksIsTheDeclaredMaximum) {
  const PeerReport m = reportWithLinks(PeerReport::kMaxLinks);
  const std::vector<uint8_t> payload = encodePayload(m);
  EXPECT_EQ(payload.size(), PeerReport::kMaxEncodedSize);
  EXPECT_EQ(PeerReport::kMaxEncodedSize, 3387u);
  EXPECT_EQ(PeerReport::kFixedSize, 59u);
  EXPECT_EQ(LinkReport::kEncodedSize, 52u);
  auto decoded = decodeMessage<PeerReport>(payload);
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  MessageTraits<PeerReport>::expectSame(*decoded, m);
  EXPECT_EQ(encodeFrame(m).size(), kFrameHeaderSize + maxPayloadLength(MessageType::kPeerReport));
}

// ---- What decodes ----------------------------------------------------------------

TEST(PeerReportValidation, EveryRunningPhaseDecodes) {
  EXPECT_EQ(verdict(PeerReport()), "accepted") << "idle, no links";
  for (RunningPhase phase : {RunningPhase::kQueued, RunningPhase::kHeaders, RunningPhase::kData,
                             RunningPhase::kCompletion}) {
    PeerReport m = MessageTraits<PeerReport>::sample();
    m.running_phase = phase;
    auto decoded = decodeMessage<PeerReport>(encodePayload(m));
    ASSERT_TRUE(decoded.isOk()) << static_cast<int>(phase) << ": " << decoded.status().toString();
    EXPECT_EQ(decoded->running_phase, phase);
  }
  // A running op that is not blocked, and one with every field at its zero.
  PeerReport unblocked = MessageTraits<PeerReport>::sample();
  unblocked.waiting_on = EndpointId();
  unblocked.waiting_ms = 0;
  EXPECT_EQ(verdict(unblocked), "accepted");
  PeerReport zeros;
  zeros.running_phase = RunningPhase::kQueued;
  EXPECT_EQ(verdict(zeros), "accepted");
  // Idle, with links and counters.
  PeerReport idle = reportWithLinks(3);
  idle.ops_completed = ~0ULL;
  idle.ops_failed = ~0ULL;
  EXPECT_EQ(verdict(idle), "accepted");
}

// ---- What is refused ---------------------------------------------------------------

TEST(PeerReportValidation, EveryTruncationIsRefused) {
  for (const PeerReport& m : {MessageTraits<PeerReport>::sample(), PeerReport()}) {
    const std::vector<uint8_t> payload = encodePayload(m);
    for (size_t length = 0; length < payload.size(); ++length) {
      auto decoded = decodeMessage<PeerReport>(std::span(payload).first(length));
      ASSERT_FALSE(decoded.isOk()) << "prefix of " << length << " bytes was accepted";
      EXPECT_EQ(decoded.status().code(), Code::kProtocolError);
      EXPECT_EQ(decoded.status().message().rfind("PeerReport: truncated at ", 0), 0u)
          << decoded.status().message();
    }
  }
}

TEST(PeerReportValidation, UnknownRunningPhase) {
  for (uint8_t phase : {5, 6, 128, 255}) {
    std::vector<uint8_t> payload = encodePayload(MessageTraits<PeerReport>::sample());
    payload[kPhaseAt] = phase;
    EXPECT_EQ(verdict<PeerReport>(payload),
              refused("unknown running phase " + std::to_string(phase)));
  }
  // Reported before the (now meaningless) running fields are checked.
  std::vector<uint8_t> payload = encodePayload(PeerReport());
  payload[kPhaseAt] = 5;
  payload[kPhaseAt + 1] = 1;  // running_tag
  EXPECT_EQ(verdict<PeerReport>(payload), refused("unknown running phase 5"));
}

TEST(PeerReportValidation, LinkCountAboveTheLimit) {
  // The count alone is refused: no link bytes follow, and none are waited for.
  for (uint16_t count : {uint16_t{65}, uint16_t{0xffff}}) {
    std::vector<uint8_t> payload = encodePayload(MessageTraits<PeerReport>::sample());
    payload.resize(kFirstLinkAt);
    payload = withU16(payload, kLinkCountAt, count);
    EXPECT_EQ(verdict<PeerReport>(payload),
              refused("link count " + std::to_string(count) + " exceeds the limit of 64"));
  }
  // 65 whole links (built by hand: whether the encoder caps is not the decoder's
  // concern): still the count, not the bytes, that is refused.
  std::vector<uint8_t> whole = encodePayload(reportWithLinks(PeerReport::kMaxLinks));
  appendBytes(whole, sampleId(0xc0).bytes);
  whole.resize(whole.size() + 3 * 8, 0x01);
  whole = withU16(whole, kLinkCountAt, PeerReport::kMaxLinks + 1);
  EXPECT_EQ(verdict<PeerReport>(whole), refused("link count 65 exceeds the limit of 64"));
}

TEST(PeerReportValidation, LinkToTheZeroPeer) {
  for (size_t which : {0u, 1u}) {
    PeerReport m = MessageTraits<PeerReport>::sample();
    m.links[which].peer = EndpointId();
    EXPECT_EQ(verdict(m), refused("a link to the zero peer id")) << "link " << which;
  }
  PeerReport last = reportWithLinks(PeerReport::kMaxLinks);
  last.links.back().peer = EndpointId();
  EXPECT_EQ(verdict(last), refused("a link to the zero peer id"));
}

TEST(PeerReportValidation, TwoLinksToOnePeer) {
  PeerReport m = MessageTraits<PeerReport>::sample();
  m.links[1].peer = m.links[0].peer;
  EXPECT_EQ(verdict(m), refused("two links to one peer"));
}

TEST(PeerReportValidation, BlockedOnNobodyForSomeTime) {
  PeerReport m = MessageTraits<PeerReport>::sample();
  m.waiting_on = EndpointId();
  EXPECT_EQ(verdict(m), refused("a report blocked on nobody says for how long"));
}

TEST(PeerReportValidation, NoRunningOpMeansZeroRunningFields) {
  // Without a running op every running field is zero: one encoding per value.
  for (int field = 0; field < 4; ++field) {
    PeerReport m = MessageTraits<PeerReport>::sample();
    m.running_phase = RunningPhase::kNone;
    m.running_tag = field == 0 ? 1 : 0;
    m.running_ms = field == 1 ? 1 : 0;
    m.waiting_on = field == 2 ? sampleId(0x70) : EndpointId();
    m.waiting_ms = field == 3 ? 1 : 0;
    EXPECT_EQ(verdict(m), refused("a report without a running op describes one")) << field;
  }
  // The same, byte by byte: any nonzero byte of those fields.
  for (size_t at = kPhaseAt + 1; at < kLinkCountAt; ++at) {
    std::vector<uint8_t> payload = encodePayload(PeerReport());
    payload[at] = 0x80;
    EXPECT_EQ(verdict<PeerReport>(payload), refused("a report without a running op describes one"))
        << "byte " << at;
  }
}

TEST(PeerReportValidation, TrailingBytesAreRefused) {
  std::vector<uint8_t> payload = encodePayload(MessageTraits<PeerReport>::sample());
  payload.push_back(0);
  EXPECT_EQ(verdict<PeerReport>(payload), refused("1 trailing bytes"));
  // A whole extra link that the count does not announce.
  std::vector<uint8_t> extra = encodePayload(MessageTraits<PeerReport>::sample());
  extra.resize(extra.size() + LinkReport::kEncodedSize, 0x42);
  EXPECT_EQ(verdict<PeerReport>(extra), refused("52 trailing bytes"));
  // After the largest report too.
  std::vector<uint8_t> largest = encodePayload(reportWithLinks(PeerReport::kMaxLinks));
  largest.push_back(0);
  EXPECT_EQ(verdict<PeerReport>(largest), refused("1 trailing bytes"));
}

TEST(PeerReportMessages, EnumNumbersAreStableOnTheWire) {
  EXPECT_EQ(static_cast<uint8_t>(RunningPhase::kNone), 0);
  EXPECT_EQ(static_cast<uint8_t>(RunningPhase::kQueued), 1);
  EXPECT_EQ(static_cast<uint8_t>(RunningPhase::kHeaders), 2);
  EXPECT_EQ(static_cast<uint8_t>(RunningPhase::kData), 3);
  EXPECT_EQ(static_cast<uint8_t>(RunningPhase::kCompletion), 4);
  EXPECT_EQ(static_cast<int>(PeerReport::kType), 59);
  EXPECT_EQ(PeerReport::kMaxLinks, 64u);
}

// ---- Anomaly events ------------------------------------------------------------------

std::string refusedEvent(const std::string& message) {
  return "ProtocolError: AnomalyEvent: " + message;
}

// Where the fields start on the wire.
constexpr size_t kEventPeerAt = 1;
constexpr size_t kEventLinkToAt = kEventPeerAt + 16;
constexpr size_t kEventRevisionAt = kEventLinkToAt + 16;
constexpr size_t kEventValueAt = kEventRevisionAt + 8;
constexpr size_t kEventThresholdAt = kEventValueAt + 8;

// The sample with the 8 bytes at `at` replaced by `bits`, little-endian.
std::vector<uint8_t> eventWithBits(size_t at, uint64_t bits) {
  std::vector<uint8_t> payload = encodePayload(MessageTraits<AnomalyEvent>::sample());
  for (size_t i = 0; i < 8; ++i)
    payload[at + i] = static_cast<uint8_t>(bits >> (8 * i));
  return payload;
}

TEST(AnomalyEventGolden, KindPeerLinkToRevisionThenTheTwoDoubles) {
  const AnomalyEvent m = MessageTraits<AnomalyEvent>::sample();
  std::vector<uint8_t> expected;
  appendLe<uint8_t>(expected, 2);                       // AnomalyKind::kStraggler
  appendBytes(expected, sampleId(0x40).bytes);          // peer
  appendBytes(expected, EndpointId().bytes);            // link_to: none for a peer finding
  appendLe<uint64_t>(expected, 0x0102030405060708ULL);  // revision
  appendLe<uint64_t>(expected, 0x4028c00000000000ULL);  // value 12.375 as binary64
  appendLe<uint64_t>(expected, 0x3fe0000000000000ULL);  // threshold 0.5 as binary64
  EXPECT_EQ(encodePayload(m), expected);
  EXPECT_EQ(expected.size(), AnomalyEvent::kEncodedSize);
  EXPECT_EQ(AnomalyEvent::kEncodedSize, 57u);
  // The doubles spelled out, so a big-endian put or a value/threshold swap shows at once.
  const std::vector<uint8_t> tail(expected.begin() + kEventValueAt, expected.end());
  EXPECT_EQ(tail,
            (std::vector<uint8_t>{0, 0, 0, 0, 0, 0xc0, 0x28, 0x40, 0, 0, 0, 0, 0, 0, 0xe0, 0x3f}));
  EXPECT_EQ(expected[kEventPeerAt], 0x41) << "sampleId(0x40) starts at 0x41";
  EXPECT_EQ(expected[kEventRevisionAt], 0x08);
  EXPECT_EQ(encodeFrame(m).size(), kFrameHeaderSize + maxPayloadLength(MessageType::kAnomalyEvent));
}

TEST(AnomalyEventGolden, HungPeerWithZeroEvidence) {
  AnomalyEvent m;
  m.kind = AnomalyKind::kHungPeer;
  m.peer = sampleId(0);
  std::vector<uint8_t> expected = {1};
  appendBytes(expected, sampleId(0).bytes);
  expected.resize(AnomalyEvent::kEncodedSize, 0);  // revision, +0.0, +0.0
  EXPECT_EQ(encodePayload(m), expected);
  EXPECT_EQ(verdict(m), "accepted");
}

TEST(AnomalyEventGolden, ASlowLinkNamesItsReceivingEnd) {
  AnomalyEvent m = MessageTraits<AnomalyEvent>::sample();
  m.kind = AnomalyKind::kSlowLink;
  m.link_to = sampleId(0x50);
  const std::vector<uint8_t> payload = encodePayload(m);
  EXPECT_EQ(payload[0], 3);
  EXPECT_EQ(payload[kEventLinkToAt], 0x51) << "sampleId(0x50) starts at 0x51";
  EXPECT_EQ(
      std::vector<uint8_t>(payload.begin() + kEventLinkToAt, payload.begin() + kEventRevisionAt),
      std::vector<uint8_t>(m.link_to.bytes.begin(), m.link_to.bytes.end()));
  EXPECT_EQ(verdict(m), "accepted");
}

// ---- What decodes ----------------------------------------------------------------

TEST(AnomalyEventValidation, EveryKindAndTheEdgesOfTheEvidenceDecode) {
  for (AnomalyKind kind : {AnomalyKind::kHungPeer, AnomalyKind::kStraggler, AnomalyKind::kSlowLink,
                           AnomalyKind::kSlowNode, AnomalyKind::kFrozenLink}) {
    AnomalyEvent m = MessageTraits<AnomalyEvent>::sample();
    m.kind = kind;
    if (kind == AnomalyKind::kSlowLink || kind == AnomalyKind::kFrozenLink) {
      m.link_to = sampleId(0x50);
    }
    auto decoded = decodeMessage<AnomalyEvent>(encodePayload(m));
    ASSERT_TRUE(decoded.isOk()) << static_cast<int>(kind) << ": " << decoded.status().toString();
    MessageTraits<AnomalyEvent>::expectSame(*decoded, m);
  }
  // Finite and >= 0, from the smallest to the largest; revision 0 and ~0.
  for (double number :
       {0.0, std::numeric_limits<double>::denorm_min(), std::numeric_limits<double>::min(), 1.0,
        std::numeric_limits<double>::max()}) {
    AnomalyEvent m = MessageTraits<AnomalyEvent>::sample();
    m.value = number;
    m.threshold = number;
    m.revision = number == 0.0 ? 0 : ~0ULL;
    auto decoded = decodeMessage<AnomalyEvent>(encodePayload(m));
    ASSERT_TRUE(decoded.isOk()) << number << ": " << decoded.status().toString();
    MessageTraits<AnomalyEvent>::expectSame(*decoded, m);
  }
  // The value below its threshold is not the decoder's concern.
  AnomalyEvent below = MessageTraits<AnomalyEvent>::sample();
  below.value = 0.25;
  EXPECT_EQ(verdict(below), "accepted");
}

// ---- What is refused ---------------------------------------------------------------

TEST(AnomalyEventValidation, EveryTruncationIsRefused) {
  AnomalyEvent hung = MessageTraits<AnomalyEvent>::sample();
  hung.kind = AnomalyKind::kHungPeer;
  for (const AnomalyEvent& m : {MessageTraits<AnomalyEvent>::sample(), hung}) {
    const std::vector<uint8_t> payload = encodePayload(m);
    for (size_t length = 0; length < payload.size(); ++length) {
      auto decoded = decodeMessage<AnomalyEvent>(std::span(payload).first(length));
      ASSERT_FALSE(decoded.isOk()) << "prefix of " << length << " bytes was accepted";
      EXPECT_EQ(decoded.status().code(), Code::kProtocolError);
      EXPECT_EQ(decoded.status().message().rfind("AnomalyEvent: truncated at ", 0), 0u)
          << decoded.status().message();
    }
  }
}

TEST(AnomalyEventValidation, ALinkFindingNeedsTheOtherEndAndAPeerFindingHasNone) {
  for (AnomalyKind kind : {AnomalyKind::kSlowLink, AnomalyKind::kFrozenLink}) {
    AnomalyEvent m = MessageTraits<AnomalyEvent>::sample();
    m.kind = kind;
    EXPECT_EQ(verdict(m), refusedEvent("a link anomaly without a link's other end"));
    m.link_to = m.peer;
    EXPECT_EQ(verdict(m), refusedEvent("a link anomaly without a link's other end"));
  }
  for (AnomalyKind kind :
       {AnomalyKind::kHungPeer, AnomalyKind::kStraggler, AnomalyKind::kSlowNode}) {
    AnomalyEvent m = MessageTraits<AnomalyEvent>::sample();
    m.kind = kind;
    m.link_to = sampleId(0x50);
    EXPECT_EQ(verdict(m), refusedEvent("an anomaly about a peer names a link"));
  }
}

TEST(AnomalyEventValidation, UnknownKind) {
  for (uint8_t kind : {0, 6, 255}) {
    std::vector<uint8_t> payload = encodePayload(MessageTraits<AnomalyEvent>::sample());
    payload[0] = kind;
    EXPECT_EQ(verdict<AnomalyEvent>(payload),
              refusedEvent("unknown anomaly kind " + std::to_string(kind)));
  }
  // Reported before the zero peer and the evidence are looked at.
  std::vector<uint8_t> payload(AnomalyEvent::kEncodedSize, 0xff);
  std::fill(payload.begin() + kEventPeerAt, payload.begin() + kEventRevisionAt, 0);
  EXPECT_EQ(verdict<AnomalyEvent>(payload), refusedEvent("unknown anomaly kind 255"));
}

TEST(AnomalyEventValidation, AboutTheZeroPeer) {
  AnomalyEvent m = MessageTraits<AnomalyEvent>::sample();
  m.peer = EndpointId();
  EXPECT_EQ(verdict(m), refusedEvent("an anomaly about the zero peer id"));
  m.kind = AnomalyKind::kHungPeer;
  EXPECT_EQ(verdict(m), refusedEvent("an anomaly about the zero peer id"));
  // Reported before the evidence is looked at.
  m.value = -1.0;
  EXPECT_EQ(verdict(m), refusedEvent("an anomaly about the zero peer id"));
}

TEST(AnomalyEventValidation, EvidenceThatIsNotAFiniteValueAtLeastZero) {
  constexpr uint64_t kPlusInf = 0x7ff0000000000000ULL;
  constexpr uint64_t kMinusInf = 0xfff0000000000000ULL;
  constexpr uint64_t kQuietNaN = 0x7ff8000000000000ULL;
  constexpr uint64_t kMinusOne = 0xbff0000000000000ULL;
  for (size_t at : {kEventValueAt, kEventThresholdAt}) {
    const std::string field = at == kEventValueAt ? "value" : "threshold";
    EXPECT_EQ(verdict<AnomalyEvent>(eventWithBits(at, kQuietNaN)),
              refusedEvent("anomaly evidence nan is not a finite value >= 0"))
        << field;
    EXPECT_EQ(verdict<AnomalyEvent>(eventWithBits(at, kPlusInf)),
              refusedEvent("anomaly evidence inf is not a finite value >= 0"))
        << field;
    EXPECT_EQ(verdict<AnomalyEvent>(eventWithBits(at, kMinusOne)),
              refusedEvent("anomaly evidence -1.000000 is not a finite value >= 0"))
        << field;
    // Whatever the spelling: -inf, a NaN with a payload or its sign set, the
    // smallest negative number.
    for (uint64_t bits :
         std::initializer_list<uint64_t>{kMinusInf, 0x7ff0000000000001ULL, 0xfff8000000000000ULL,
                                         0x7fffffffffffffffULL, 0x8000000000000001ULL}) {
      const std::string why = verdict<AnomalyEvent>(eventWithBits(at, bits));
      EXPECT_EQ(why.rfind("ProtocolError: AnomalyEvent: anomaly evidence ", 0), 0u)
          << field << " " << std::hex << bits << ": " << why;
      EXPECT_NE(why.find(" is not a finite value >= 0"), std::string::npos)
          << field << " " << std::hex << bits << ": " << why;
    }
  }
  // Through the encoder too: it writes what it is given, the decoder refuses it.
  for (double bad :
       {std::numeric_limits<double>::quiet_NaN(), std::numeric_limits<double>::infinity(), -1.0}) {
    AnomalyEvent value = MessageTraits<AnomalyEvent>::sample();
    value.value = bad;
    EXPECT_NE(verdict(value).find("is not a finite value >= 0"), std::string::npos) << bad;
    AnomalyEvent threshold = MessageTraits<AnomalyEvent>::sample();
    threshold.threshold = bad;
    EXPECT_NE(verdict(threshold).find("is not a finite value >= 0"), std::string::npos) << bad;
  }
}

TEST(AnomalyEventValidation, NegativeZeroIsAcceptedAndKeepsItsBits) {
  // -0.0 >= 0 holds: accepted, and re-encoded as the same bits (one encoding per input).
  const std::vector<uint8_t> payload = eventWithBits(kEventValueAt, 0x8000000000000000ULL);
  auto decoded = decodeMessage<AnomalyEvent>(payload);
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_TRUE(std::signbit(decoded->value));
  EXPECT_EQ(encodePayload(*decoded), payload);
}

TEST(AnomalyEventValidation, TrailingBytesAreRefused) {
  for (size_t extra : {1u, 8u, 57u}) {
    std::vector<uint8_t> payload = encodePayload(MessageTraits<AnomalyEvent>::sample());
    payload.resize(payload.size() + extra, 0x01);
    EXPECT_EQ(verdict<AnomalyEvent>(payload),
              refusedEvent(std::to_string(extra) + " trailing bytes"));
  }
}

TEST(AnomalyEventMessages, EnumNumbersAreStableOnTheWire) {
  EXPECT_EQ(static_cast<uint8_t>(AnomalyKind::kHungPeer), 1);
  EXPECT_EQ(static_cast<uint8_t>(AnomalyKind::kStraggler), 2);
  EXPECT_EQ(static_cast<uint8_t>(AnomalyKind::kSlowLink), 3);
  EXPECT_EQ(static_cast<uint8_t>(AnomalyKind::kSlowNode), 4);
  EXPECT_EQ(static_cast<uint8_t>(AnomalyKind::kFrozenLink), 5);
  EXPECT_EQ(static_cast<int>(AnomalyEvent::kType), 60);
  EXPECT_EQ(messageTypeName(AnomalyEvent::kType), "AnomalyEvent");
  EXPECT_EQ(maxPayloadLength(AnomalyEvent::kType), AnomalyEvent::kEncodedSize);
}

}  // namespace
}  // namespace eccl::protocol::test
