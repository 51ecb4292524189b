// Peer reports on the wire (report_messages.h): the exact encoding, the
// declared maximum, and every refusal of a malformed or inconsistent report.
// Round trips and field-named truncations are covered with the other messages
// in message_codec_test.cc.
#include <gtest/gtest.h>

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
  appendBytes(expected, sampleId(0x20).bytes);          // link 1: peer
  appendLe<uint64_t>(expected, 0x9192939495969798ULL);  //   bytes_sent
  appendLe<uint64_t>(expected, 0xa1a2a3a4a5a6a7a8ULL);  //   bytes_received
  appendLe<uint64_t>(expected, 0xb1b2b3b4b5b6b7b8ULL);  //   wait_ns
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
  EXPECT_EQ(PeerReport::kMaxEncodedSize, 2619u);
  EXPECT_EQ(PeerReport::kFixedSize, 59u);
  EXPECT_EQ(LinkReport::kEncodedSize, 40u);
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
  EXPECT_EQ(verdict<PeerReport>(extra), refused("40 trailing bytes"));
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

}  // namespace
}  // namespace eccl::protocol::test
