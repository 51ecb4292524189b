// The shared-state sync messages (state_messages.h): exact encodings, round
// trips of every field, the declared maximum sizes, and every refusal of the
// decoders with its text.
#include "src/protocol/state_messages.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "tests/unit/protocol/message_samples.h"

namespace eccl::protocol::test {
namespace {

StateHash sampleHash(uint8_t base) {
  StateHash hash;
  for (size_t i = 0; i < hash.size(); ++i)
    hash[i] = static_cast<uint8_t>(base + 3 * i);
  return hash;
}

std::string refused(std::string_view type, const std::string& message) {
  return "ProtocolError: " + std::string(type) + ": " + message;
}

StateVote sampleVote() {
  StateVote m;
  m.group_revision = 0x0102030405060708ULL;
  m.state_revision = 0x1112131415161718ULL;
  m.strategy = 1;  // SEND_ONLY
  m.entries = {{"adam.m", 0x2122232425262728ULL, 10, 0, sampleHash(0x30), 125, 0x31323334},
               {"rng", 4, 7, kStateFlagAllowInequality, sampleHash(0x50)},
               {"weights", 0, 11, 0, sampleHash(0x70), 1000, 0}};
  return m;
}

StatePlan samplePlan() {
  StatePlan m;
  m.sync = 0x0102030405060708ULL;
  m.round = 0x11121314;
  m.kind = PlanKind::kRound;
  m.state_revision = 0x2122232425262728ULL;
  m.text = "round two";
  m.receive = {{3, sampleHash(0x10)}, {4095, sampleHash(0x90)}};
  m.transfers = {{7, 3, 0x3132333435363738ULL, 0x4142434445ULL, sampleId(0x10), sampleId(0x20), 1},
                 {0xffffffffu, 4095, 0, 1, sampleId(0x20), sampleId(0x30)}};
  return m;
}

StateDone sampleDone() {
  StateDone m;
  m.sync = 0x0102030405060708ULL;
  m.round = 0x11121314;
  m.failed_transfers = {0, 0x21222324, 0xffffffffu};
  m.bad_entries = {4095, 2};
  m.reason = "transfer 7 from peer 11121314: connection reset";
  return m;
}

void expectSame(const StateVote& a, const StateVote& b) {
  EXPECT_EQ(a.group_revision, b.group_revision);
  EXPECT_EQ(a.state_revision, b.state_revision);
  EXPECT_EQ(a.strategy, b.strategy);
  EXPECT_EQ(a.entries, b.entries);
}

void expectSame(const StatePlan& a, const StatePlan& b) {
  EXPECT_EQ(a.sync, b.sync);
  EXPECT_EQ(a.round, b.round);
  EXPECT_EQ(a.kind, b.kind);
  EXPECT_EQ(a.state_revision, b.state_revision);
  EXPECT_EQ(a.code, b.code);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.receive, b.receive);
  EXPECT_EQ(a.transfers, b.transfers);
}

void expectSame(const StateDone& a, const StateDone& b) {
  EXPECT_EQ(a.sync, b.sync);
  EXPECT_EQ(a.round, b.round);
  EXPECT_EQ(a.failed_transfers, b.failed_transfers);
  EXPECT_EQ(a.bad_entries, b.bad_entries);
  EXPECT_EQ(a.reason, b.reason);
}

template <typename Message>
void expectRoundTrip(const Message& m) {
  auto decoded = decodeMessage<Message>(encodePayload(m));
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  expectSame(*decoded, m);
}

// ---- Exact encodings ------------------------------------------------------------

TEST(StateMessageGolden, StateVote) {
  const StateVote m = sampleVote();
  std::vector<uint8_t> expected;
  appendLe<uint64_t>(expected, 0x0102030405060708ULL);
  appendLe<uint64_t>(expected, 0x1112131415161718ULL);
  appendLe<uint8_t>(expected, 1);
  appendLe<uint32_t>(expected, 3);
  for (const StateEntrySummary& e : m.entries) {
    appendString(expected, e.name);
    appendLe<uint64_t>(expected, e.count);
    appendLe<uint8_t>(expected, e.dtype);
    appendLe<uint8_t>(expected, e.flags);
    appendBytes(expected, e.hash);
    appendLe<uint16_t>(expected, e.zstd_permille);
    appendLe<uint32_t>(expected, e.zstd_mbps);
  }
  EXPECT_EQ(encodePayload(m), expected);
  EXPECT_EQ(expected.size(), 21u + (2 + 6 + 32) + (2 + 3 + 32) + (2 + 7 + 32));
  EXPECT_EQ(expected[16], 1);   // strategy after the two revisions
  EXPECT_EQ(expected[21], 6);   // the first name's length after the count
  EXPECT_EQ(expected[37], 10);  // its dtype after name and count
}

TEST(StateMessageGolden, StatePlan) {
  const StatePlan m = samplePlan();
  std::vector<uint8_t> expected;
  appendLe<uint64_t>(expected, m.sync);
  appendLe<uint32_t>(expected, m.round);
  appendLe<uint8_t>(expected, 1);  // kRound
  appendLe<uint64_t>(expected, m.state_revision);
  appendLe<uint16_t>(expected, 0);
  appendString(expected, "round two");
  appendLe<uint32_t>(expected, 2);
  for (const StateExpectation& e : m.receive) {
    appendLe<uint32_t>(expected, e.entry);
    appendBytes(expected, e.hash);
  }
  appendLe<uint32_t>(expected, 2);
  for (const StateTransfer& t : m.transfers) {
    appendLe<uint32_t>(expected, t.id);
    appendLe<uint32_t>(expected, t.entry);
    appendLe<uint64_t>(expected, t.offset);
    appendLe<uint64_t>(expected, t.bytes);
    appendBytes(expected, t.from.bytes);
    appendBytes(expected, t.to.bytes);
    appendLe<uint8_t>(expected, t.codec);
  }
  EXPECT_EQ(encodePayload(m), expected);
  EXPECT_EQ(expected.size(), 23u + 2 + 9 + 4 + 2 * 20 + 4 + 2 * StatePlan::kTransferSize);
}

TEST(StateMessageGolden, StateDone) {
  const StateDone m = sampleDone();
  std::vector<uint8_t> expected;
  appendLe<uint64_t>(expected, m.sync);
  appendLe<uint32_t>(expected, m.round);
  appendLe<uint32_t>(expected, 3);
  for (uint32_t id : m.failed_transfers)
    appendLe<uint32_t>(expected, id);
  appendLe<uint32_t>(expected, 2);
  for (uint32_t entry : m.bad_entries)
    appendLe<uint32_t>(expected, entry);
  appendString(expected, m.reason);
  EXPECT_EQ(encodePayload(m), expected);
}

// ---- Round trips ------------------------------------------------------------------

TEST(StateMessageRoundTrip, StateVoteWithEveryField) {
  expectRoundTrip(sampleVote());
}

TEST(StateMessageRoundTrip, StateVoteOfEveryStrategyAndDtype) {
  for (uint8_t strategy = 0; strategy <= 2; ++strategy) {
    StateVote m = sampleVote();
    m.strategy = strategy;
    m.entries.clear();
    for (uint8_t dtype = 0; dtype < 12; ++dtype) {
      char name[8];
      std::snprintf(name, sizeof(name), "e%02u", unsigned{dtype});
      m.entries.push_back({name, dtype, dtype, static_cast<uint8_t>(dtype % 2), sampleHash(dtype)});
    }
    expectRoundTrip(m);
  }
}

TEST(StateMessageRoundTrip, EmptyStateVote) {
  StateVote m;
  m.strategy = 2;
  expectRoundTrip(m);
  EXPECT_EQ(encodePayload(m).size(), 21u);
}

TEST(StateMessageRoundTrip, StatePlanRound) {
  expectRoundTrip(samplePlan());
}

TEST(StateMessageRoundTrip, StatePlanSucceeded) {
  StatePlan m;
  m.sync = 3;
  m.round = 2;
  m.kind = PlanKind::kSucceeded;
  m.state_revision = 77;
  expectRoundTrip(m);
}

TEST(StateMessageRoundTrip, StatePlanFailedWithEveryErrorCode) {
  for (int code = 1; code <= static_cast<int>(kLastCode); ++code) {
    StatePlan m;
    m.sync = 9;
    m.round = 16;
    m.kind = PlanKind::kFailed;
    m.state_revision = 5;
    m.code = static_cast<Code>(code);
    m.text = "shared state entry 'w' could not reach peer 01010101";
    expectRoundTrip(m);
  }
}

TEST(StateMessageRoundTrip, StatePlanTransferEndingAtTheLastByte) {
  // [2^64 - 2, 2^64 - 1) does not wrap.
  StatePlan m = samplePlan();
  m.transfers[0].offset = std::numeric_limits<uint64_t>::max() - 1;
  m.transfers[0].bytes = 1;
  expectRoundTrip(m);
}

TEST(StateMessageRoundTrip, StateDoneWithEveryField) {
  expectRoundTrip(sampleDone());
  expectRoundTrip(StateDone{});
}

TEST(StateMessageRoundTrip, ThroughAWholeFrame) {
  const StatePlan m = samplePlan();
  const std::vector<uint8_t> frame = encodeFrame(m, /*with_checksum=*/true);
  auto header = decodeFrameHeader(frame);
  ASSERT_TRUE(header.isOk()) << header.status().toString();
  EXPECT_EQ(header->type, MessageType::kStatePlan);
  const auto payload = std::span(frame).subspan(kFrameHeaderSize);
  EXPECT_EQ(header->length, payload.size());
  EXPECT_TRUE(verifyChecksum(*header, payload).isOk());
  auto decoded = decodeMessage<StatePlan>(payload);
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  expectSame(*decoded, m);
}

// ---- Declared maximum sizes --------------------------------------------------------

std::string entryName(size_t i, size_t length) {
  char digits[8];
  std::snprintf(digits, sizeof(digits), "%04zu", i);
  std::string name(length - 4, 'n');
  return name + digits;  // zero-padded: increasing with i
}

TEST(StateMessageLimits, LargestStateVoteIsTheDeclaredMaximum) {
  StateVote m;
  for (size_t i = 0; i < kMaxStateEntries; ++i)
    m.entries.push_back({entryName(i, kMaxStateEntryName), i, 10, 1, sampleHash(1)});
  const auto payload = encodePayload(m);
  EXPECT_EQ(payload.size(), StateVote::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kStateVote), StateVote::kMaxEncodedSize);
  EXPECT_EQ(verdict<StateVote>(payload), "accepted");
}

TEST(StateMessageLimits, LargestStatePlanIsTheDeclaredMaximum) {
  StatePlan m;
  m.text = std::string(kMaxReason, 't');
  for (uint32_t e = 0; e < kMaxStateEntries; ++e)
    m.receive.push_back({e, sampleHash(2)});
  m.transfers.resize(kMaxPlanTransfers, {1, 4095, 0, 4096, sampleId(0x10), sampleId(0x20)});
  const auto payload = encodePayload(m);
  EXPECT_EQ(payload.size(), StatePlan::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kStatePlan), StatePlan::kMaxEncodedSize);
  EXPECT_EQ(verdict<StatePlan>(payload), "accepted");
}

TEST(StateMessageLimits, LargestStateDoneIsTheDeclaredMaximum) {
  StateDone m;
  m.failed_transfers.resize(kMaxPlanTransfers, 7);
  m.bad_entries.resize(kMaxStateEntries, 4095);
  m.reason = std::string(kMaxReason, 'r');
  const auto payload = encodePayload(m);
  EXPECT_EQ(payload.size(), StateDone::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kStateDone), StateDone::kMaxEncodedSize);
  EXPECT_EQ(verdict<StateDone>(payload), "accepted");
}

// ---- StateVote refusals ------------------------------------------------------------

TEST(StateVoteValidation, UnknownStrategy) {
  for (uint8_t strategy : {3, 4, 255}) {
    StateVote m = sampleVote();
    m.strategy = strategy;
    EXPECT_EQ(verdict(m),
              refused("StateVote", "unknown sync strategy " + std::to_string(strategy)));
  }
}

TEST(StateVoteValidation, EntryCountOverTheLimitIsRefusedBeforeAllocation) {
  // A count with no entries behind it: refused for the count, not for truncation.
  for (uint32_t count : {uint32_t{4097}, std::numeric_limits<uint32_t>::max()}) {
    std::vector<uint8_t> payload(17, 0);
    appendLe<uint32_t>(payload, count);
    EXPECT_EQ(verdict<StateVote>(payload),
              refused("StateVote", "entry count " + std::to_string(count) + " exceeds 4096"));
  }
  // At the limit the decoder reads on and finds the entries missing.
  std::vector<uint8_t> payload(17, 0);
  appendLe<uint32_t>(payload, 4096);
  EXPECT_EQ(verdict<StateVote>(payload),
            refused("StateVote", "truncated at entry name: need 2 bytes, have 0"));
}

TEST(StateVoteValidation, MoreEntriesThanTheLimit) {
  StateVote m;
  for (size_t i = 0; i <= kMaxStateEntries; ++i)
    m.entries.push_back({entryName(i, 8), 1, 0, 0, {}});
  EXPECT_EQ(verdict(m), refused("StateVote", "entry count 4097 exceeds 4096"));
}

TEST(StateVoteValidation, EmptyEntryName) {
  StateVote m = sampleVote();
  m.entries.insert(m.entries.begin(), {"", 1, 0, 0, {}});
  EXPECT_EQ(verdict(m), refused("StateVote", "empty entry name"));
}

TEST(StateVoteValidation, EntryNameOverTheLimit) {
  StateVote m;
  m.entries = {{std::string(kMaxStateEntryName + 1, 'n'), 1, 0, 0, {}}};
  EXPECT_EQ(verdict(m), refused("StateVote", "entry name is 256 bytes, limit 255"));
  m.entries[0].name.pop_back();
  EXPECT_EQ(verdict(m), "accepted");
}

TEST(StateVoteValidation, UnknownDtype) {
  for (uint8_t dtype : {12, 13, 255}) {
    StateVote m = sampleVote();
    m.entries[1].dtype = dtype;
    EXPECT_EQ(verdict(m), refused("StateVote", "unknown dtype " + std::to_string(dtype)));
  }
  StateVote m = sampleVote();
  m.entries[1].dtype = 11;  // f64, the last one
  EXPECT_EQ(verdict(m), "accepted");
}

TEST(StateVoteValidation, UnknownFlagBits) {
  for (uint8_t flags : {2, 3, 0x80, 0xff}) {
    StateVote m = sampleVote();
    m.entries[2].flags = flags;
    EXPECT_EQ(verdict(m), refused("StateVote", "unknown entry flags " + std::to_string(flags)));
  }
}

TEST(StateVoteValidation, NamesMustStrictlyIncrease) {
  StateVote duplicate = sampleVote();
  duplicate.entries[1].name = "adam.m";
  EXPECT_EQ(verdict(duplicate),
            refused("StateVote", "entry names not in strictly increasing order at 'adam.m'"));
  StateVote decreasing = sampleVote();
  std::swap(decreasing.entries[1], decreasing.entries[2]);
  EXPECT_EQ(verdict(decreasing),
            refused("StateVote", "entry names not in strictly increasing order at 'rng'"));
  // Byte order: "Z" (0x5a) sorts before "a" (0x61).
  StateVote bytewise;
  bytewise.entries = {{"a", 1, 0, 0, {}}, {"Z", 1, 0, 0, {}}};
  EXPECT_EQ(verdict(bytewise),
            refused("StateVote", "entry names not in strictly increasing order at 'Z'"));
  std::swap(bytewise.entries[0], bytewise.entries[1]);
  EXPECT_EQ(verdict(bytewise), "accepted");
}

TEST(StateVoteValidation, UnorderedNameIsPrintedSafely) {
  StateVote m;
  m.entries = {{"b", 1, 0, 0, {}}, {std::string("a\n\x1b", 3), 1, 0, 0, {}}};
  // Both control bytes become '?' (spelled out: "??'" would be a trigraph).
  const std::string shown = "a" + std::string(2, '?');
  EXPECT_EQ(verdict(m), refused("StateVote",
                                "entry names not in strictly increasing order at '" + shown + "'"));
}

TEST(StateVoteValidation, TruncatedHash) {
  auto payload = encodePayload(sampleVote());
  payload.resize(payload.size() - 11);  // the last entry's zstd fields and 5 hash bytes
  EXPECT_EQ(verdict<StateVote>(payload),
            refused("StateVote", "truncated at entry hash: need 16 bytes, have 11"));
}

TEST(StateVoteValidation, TrailingBytes) {
  auto payload = encodePayload(sampleVote());
  payload.push_back(0);
  EXPECT_EQ(verdict<StateVote>(payload), refused("StateVote", "1 trailing bytes"));
}

// ---- StatePlan refusals ------------------------------------------------------------

TEST(StateVoteValidation, ZstdRatioAboveOneThousandPerMille) {
  StateVote m = sampleVote();
  m.entries[0].zstd_permille = 1001;
  EXPECT_EQ(verdict(m), refused("StateVote", "entry zstd ratio above 1000 per mille"));
}

TEST(StatePlanValidation, UnknownTransferCodec) {
  StatePlan m = samplePlan();
  m.transfers[1].codec = 2;
  EXPECT_EQ(verdict(m), refused("StatePlan", "unknown transfer codec 2"));
}

TEST(StatePlanValidation, UnknownPlanKind) {
  for (uint8_t kind : {0, 4, 255}) {
    StatePlan m = samplePlan();
    m.kind = static_cast<PlanKind>(kind);
    EXPECT_EQ(verdict(m), refused("StatePlan", "unknown plan kind " + std::to_string(kind)));
  }
}

TEST(StatePlanValidation, FailedPlanWithoutAnErrorCode) {
  StatePlan m;
  m.kind = PlanKind::kFailed;
  m.code = Code::kOk;
  m.text = "no code";
  EXPECT_EQ(verdict(m), refused("StatePlan", "plan code 0 does not fit its kind"));
}

TEST(StatePlanValidation, FailedPlanWithAnUnknownCode) {
  StatePlan m;
  m.kind = PlanKind::kFailed;
  m.code = static_cast<Code>(static_cast<int>(kLastCode) + 1);
  EXPECT_EQ(verdict(m), refused("StatePlan", "plan code 13 does not fit its kind"));
}

TEST(StatePlanValidation, RoundOrSuccessWithAnErrorCode) {
  StatePlan round = samplePlan();
  round.code = Code::kPeerLost;
  EXPECT_EQ(verdict(round), refused("StatePlan", "plan code 8 does not fit its kind"));
  StatePlan succeeded;
  succeeded.kind = PlanKind::kSucceeded;
  succeeded.code = Code::kInvalidArgument;
  EXPECT_EQ(verdict(succeeded), refused("StatePlan", "plan code 1 does not fit its kind"));
}

TEST(StatePlanValidation, FinalPlanWithTransfers) {
  for (PlanKind kind : {PlanKind::kSucceeded, PlanKind::kFailed}) {
    StatePlan m = samplePlan();
    m.kind = kind;
    m.code = kind == PlanKind::kFailed ? Code::kPeerLost : Code::kOk;
    EXPECT_EQ(verdict(m), refused("StatePlan", "a final plan lists transfers"));
    m.transfers.clear();  // expectations alone are transfers too
    EXPECT_EQ(verdict(m), refused("StatePlan", "a final plan lists transfers"));
    m.receive.clear();
    m.transfers = samplePlan().transfers;
    EXPECT_EQ(verdict(m), refused("StatePlan", "a final plan lists transfers"));
    m.transfers.clear();
    EXPECT_EQ(verdict(m), "accepted");
  }
}

TEST(StatePlanValidation, TransferOfZeroBytes) {
  StatePlan m = samplePlan();
  m.transfers[1].bytes = 0;
  EXPECT_EQ(verdict(m), refused("StatePlan", "transfer range is empty or wraps"));
}

TEST(StatePlanValidation, TransferRangeThatWraps) {
  StatePlan m = samplePlan();
  m.transfers[0].offset = std::numeric_limits<uint64_t>::max();
  m.transfers[0].bytes = 1;
  EXPECT_EQ(verdict(m), refused("StatePlan", "transfer range is empty or wraps"));
  m.transfers[0].offset = 1;
  m.transfers[0].bytes = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(verdict(m), refused("StatePlan", "transfer range is empty or wraps"));
}

TEST(StatePlanValidation, TransferEndpoints) {
  const std::string invalid = refused("StatePlan", "transfer endpoints invalid");
  StatePlan zero_from = samplePlan();
  zero_from.transfers[0].from = EndpointId{};
  EXPECT_EQ(verdict(zero_from), invalid);
  StatePlan zero_to = samplePlan();
  zero_to.transfers[1].to = EndpointId{};
  EXPECT_EQ(verdict(zero_to), invalid);
  StatePlan to_itself = samplePlan();
  to_itself.transfers[0].to = to_itself.transfers[0].from;
  EXPECT_EQ(verdict(to_itself), invalid);
}

TEST(StatePlanValidation, EntryIndexOutOfRange) {
  StatePlan transfer = samplePlan();
  transfer.transfers[1].entry = kMaxStateEntries;
  EXPECT_EQ(verdict(transfer), refused("StatePlan", "transfer entry out of range"));
  StatePlan receive = samplePlan();
  receive.receive[0].entry = kMaxStateEntries;
  EXPECT_EQ(verdict(receive), refused("StatePlan", "receive entry out of range"));
}

TEST(StatePlanValidation, CountsOverTheLimitAreRefusedBeforeAllocation) {
  StatePlan m;
  m.text = "t";
  const size_t receive_at = 8 + 4 + 1 + 8 + 2 + 2 + 1;
  std::vector<uint8_t> payload = encodePayload(m);
  ASSERT_EQ(payload.size(), receive_at + 8);
  payload.resize(receive_at);
  appendLe<uint32_t>(payload, 4097);
  EXPECT_EQ(verdict<StatePlan>(payload), refused("StatePlan", "receive count 4097 exceeds 4096"));

  payload.resize(receive_at);
  appendLe<uint32_t>(payload, 0);
  appendLe<uint32_t>(payload, 65537);
  EXPECT_EQ(verdict<StatePlan>(payload),
            refused("StatePlan", "transfer count 65537 exceeds 65536"));
  payload.resize(receive_at + 4);
  appendLe<uint32_t>(payload, std::numeric_limits<uint32_t>::max());
  EXPECT_EQ(verdict<StatePlan>(payload),
            refused("StatePlan", "transfer count 4294967295 exceeds 65536"));
}

TEST(StatePlanValidation, TextOverTheLimit) {
  StatePlan m;
  m.kind = PlanKind::kFailed;
  m.code = Code::kTimeout;
  m.text = std::string(kMaxReason + 1, 't');
  EXPECT_EQ(verdict(m), refused("StatePlan", "text is 1025 bytes, limit 1024"));
}

TEST(StatePlanValidation, TrailingBytes) {
  auto payload = encodePayload(samplePlan());
  payload.insert(payload.end(), {1, 2, 3});
  EXPECT_EQ(verdict<StatePlan>(payload), refused("StatePlan", "3 trailing bytes"));
}

// ---- StateDone refusals ------------------------------------------------------------

TEST(StateDoneValidation, CountsOverTheLimitAreRefusedBeforeAllocation) {
  std::vector<uint8_t> payload(12, 0);
  appendLe<uint32_t>(payload, 65537);
  EXPECT_EQ(verdict<StateDone>(payload),
            refused("StateDone", "failed transfer count 65537 exceeds 65536"));
  payload.resize(12);
  appendLe<uint32_t>(payload, 0);
  appendLe<uint32_t>(payload, 4097);
  EXPECT_EQ(verdict<StateDone>(payload), refused("StateDone", "bad entry count 4097 exceeds 4096"));
}

TEST(StateDoneValidation, BadEntryOutOfRange) {
  StateDone m = sampleDone();
  m.bad_entries[1] = kMaxStateEntries;
  EXPECT_EQ(verdict(m), refused("StateDone", "bad entry out of range"));
}

TEST(StateDoneValidation, ReasonOverTheLimit) {
  StateDone m = sampleDone();
  m.reason = std::string(kMaxReason + 1, 'r');
  EXPECT_EQ(verdict(m), refused("StateDone", "reason is 1025 bytes, limit 1024"));
}

TEST(StateDoneValidation, Truncated) {
  auto payload = encodePayload(sampleDone());
  payload.resize(12 + 4 + 4 * 3 + 4 + 4);  // the second bad entry missing
  EXPECT_EQ(verdict<StateDone>(payload),
            refused("StateDone", "truncated at bad entry: need 4 bytes, have 0"));
}

TEST(StateDoneValidation, TrailingBytes) {
  auto payload = encodePayload(sampleDone());
  payload.push_back(0);
  EXPECT_EQ(verdict<StateDone>(payload), refused("StateDone", "1 trailing bytes"));
}

}  // namespace
}  // namespace eccl::protocol::test
