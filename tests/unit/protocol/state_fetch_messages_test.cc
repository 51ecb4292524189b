// The shared-state fetch messages (state_messages.h: StateFetchRequest,
// StateFetchPlan, StateFetchDone): exact encodings, round trips, the declared
// maximum sizes and the decoders' refusals.
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "src/protocol/state_messages.h"
#include "tests/unit/protocol/message_samples.h"

namespace eccl::protocol::test {
namespace {

StateHash sampleHash(uint8_t base) {
  StateHash hash;
  for (size_t i = 0; i < hash.size(); ++i)
    hash[i] = static_cast<uint8_t>(base + 5 * i);
  return hash;
}

std::string refused(std::string_view type, const std::string& message) {
  return "ProtocolError: " + std::string(type) + ": " + message;
}

StateFetchRequest sampleRequest() {
  StateFetchRequest m;
  m.fetch = 0x3132333435363738ULL;
  m.bytes_per_s = 0x0102030405060708ULL;
  m.entries = {{"step", 1, 6, 0, sampleHash(0x10)},
               {"weights", 0x2122232425ULL, 10, kStateFlagAllowInequality, sampleHash(0x40)}};
  m.group = "stage-2";
  return m;
}

StateFetchPlan samplePlan() {
  StateFetchPlan m;
  m.sync = 0x1112131415161718ULL;
  m.state_revision = 0x2122232425262728ULL;
  m.fetcher = sampleId(0x30);
  m.fetch = 0x4142434445464748ULL;
  m.bytes_per_s = 125'000'000;
  m.receive = {{1, sampleHash(0x70)}};
  m.transfers = {{9, 1, 0, 1 << 20, sampleId(0x10), sampleId(0x30), 0},
                 {10, 1, 1 << 20, 4096, sampleId(0x20), sampleId(0x30), 1}};
  m.addresses = {{sampleId(0x10), "10.0.0.1", 4001},
                 {sampleId(0x20), "node-2", 4002},
                 {sampleId(0x30), "node-3", 4003}};
  return m;
}

void expectSame(const StateFetchRequest& a, const StateFetchRequest& b) {
  EXPECT_EQ(a.fetch, b.fetch);
  EXPECT_EQ(a.bytes_per_s, b.bytes_per_s);
  EXPECT_EQ(a.entries, b.entries);
  EXPECT_EQ(a.group, b.group);
}

void expectSame(const StateFetchPlan& a, const StateFetchPlan& b) {
  EXPECT_EQ(a.sync, b.sync);
  EXPECT_EQ(a.state_revision, b.state_revision);
  EXPECT_EQ(a.fetcher, b.fetcher);
  EXPECT_EQ(a.fetch, b.fetch);
  EXPECT_EQ(a.bytes_per_s, b.bytes_per_s);
  EXPECT_EQ(a.code, b.code);
  EXPECT_EQ(a.text, b.text);
  EXPECT_EQ(a.receive, b.receive);
  EXPECT_EQ(a.transfers, b.transfers);
  EXPECT_EQ(a.addresses, b.addresses);
}

void expectSame(const StateFetchDone& a, const StateFetchDone& b) {
  EXPECT_EQ(a.fetch, b.fetch);
  EXPECT_EQ(a.sync, b.sync);
  EXPECT_EQ(a.entries_verified, b.entries_verified);
  EXPECT_EQ(a.entries_missing, b.entries_missing);
}

template <typename Message>
void expectRoundTrip(const Message& m) {
  auto decoded = decodeMessage<Message>(encodePayload(m));
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  expectSame(*decoded, m);
}

// ---- Exact encodings ------------------------------------------------------------

TEST(StateFetchGolden, Request) {
  const StateFetchRequest m = sampleRequest();
  std::vector<uint8_t> expected;
  appendLe<uint64_t>(expected, m.fetch);
  appendLe<uint64_t>(expected, m.bytes_per_s);
  appendLe<uint32_t>(expected, 2);
  for (const StateEntrySummary& e : m.entries) {
    appendString(expected, e.name);
    appendLe<uint64_t>(expected, e.count);
    appendLe<uint8_t>(expected, e.dtype);
    appendLe<uint8_t>(expected, e.flags);
    appendBytes(expected, e.hash);
    appendLe<uint16_t>(expected, e.zstd_permille);
    appendLe<uint32_t>(expected, e.zstd_mbps);
  }
  appendString(expected, "stage-2");
  EXPECT_EQ(encodePayload(m), expected);
  EXPECT_EQ(expected.size(), 20u + (2 + 4 + 32) + (2 + 7 + 32) + (2 + 7));
  // The number leads, little-endian.
  EXPECT_EQ(expected[0], 0x38);
  EXPECT_EQ(expected[7], 0x31);
}

TEST(StateFetchGolden, RequestOfTheOwnGroupEndsWithAnEmptyName) {
  // A joiner's: fetch 0, unpaced, no entries, no group.
  const std::vector<uint8_t> expected(8 + 8 + 4 + 2, 0);
  EXPECT_EQ(encodePayload(StateFetchRequest{}), expected);
}

TEST(StateFetchGolden, RequestOfAnotherGroupLeadsWithItsFetchNumber) {
  StateFetchRequest m;
  m.fetch = 2;
  m.group = "a";
  const std::vector<uint8_t> expected = {2, 0, 0,  0, 0, 0, 0, 0,  // fetch
                                         0, 0, 0,  0, 0, 0, 0, 0,  // bytes_per_s
                                         0, 0, 0,  0,              // entries
                                         1, 0, 'a'};
  EXPECT_EQ(encodePayload(m), expected);
}

TEST(StateFetchGolden, Plan) {
  const StateFetchPlan m = samplePlan();
  std::vector<uint8_t> expected;
  appendLe<uint64_t>(expected, m.sync);
  appendLe<uint64_t>(expected, m.state_revision);
  appendBytes(expected, m.fetcher.bytes);
  appendLe<uint64_t>(expected, m.fetch);
  appendLe<uint64_t>(expected, m.bytes_per_s);
  appendLe<uint16_t>(expected, 0);
  appendString(expected, "");
  appendLe<uint32_t>(expected, 1);
  appendLe<uint32_t>(expected, 1);
  appendBytes(expected, m.receive[0].hash);
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
  appendLe<uint32_t>(expected, 3);
  for (const Member& a : m.addresses) {
    appendBytes(expected, a.peer.bytes);
    appendString(expected, a.host);
    appendLe<uint16_t>(expected, a.port);
  }
  EXPECT_EQ(encodePayload(m), expected);
}

TEST(StateFetchGolden, PlanEchoesTheFetchNumberAfterTheFetcher) {
  StateFetchPlan m;
  m.sync = 1;
  m.fetcher = sampleId(0x30);
  m.fetch = 3;
  const auto payload = encodePayload(m);
  ASSERT_GE(payload.size(), 8u + 8 + 16 + 8);
  const std::vector<uint8_t> fetch(payload.begin() + 32, payload.begin() + 40);
  EXPECT_EQ(fetch, (std::vector<uint8_t>{3, 0, 0, 0, 0, 0, 0, 0}));
}

TEST(StateFetchGolden, Done) {
  StateFetchDone m;
  m.fetch = 0x1112131415161718ULL;
  m.sync = 0x0102030405060708ULL;
  m.entries_verified = 7;
  m.entries_missing = 4096;
  std::vector<uint8_t> expected;
  appendLe<uint64_t>(expected, m.fetch);
  appendLe<uint64_t>(expected, m.sync);
  appendLe<uint32_t>(expected, 7);
  appendLe<uint32_t>(expected, 4096);
  EXPECT_EQ(encodePayload(m), expected);
  EXPECT_EQ(expected.size(), StateFetchDone::kEncodedSize);
}

// ---- Round trips ------------------------------------------------------------------

TEST(StateFetchRoundTrip, EveryMessage) {
  expectRoundTrip(sampleRequest());
  expectRoundTrip(StateFetchRequest{});
  StateFetchRequest longest_group = sampleRequest();
  longest_group.group = std::string(kMaxGroupName, 'g');
  expectRoundTrip(longest_group);
  expectRoundTrip(samplePlan());
  expectRoundTrip(StateFetchDone{4, 3, 2, 1});
  expectRoundTrip(StateFetchDone{std::numeric_limits<uint64_t>::max(), 0, 0, 0});
  StateFetchRequest largest_number = sampleRequest();
  largest_number.fetch = std::numeric_limits<uint64_t>::max();
  expectRoundTrip(largest_number);
}

TEST(StateFetchRoundTrip, EmptyPlanSaysThereIsNothingToFetch) {
  StateFetchPlan m;
  m.fetcher = sampleId(0x30);
  expectRoundTrip(m);
}

TEST(StateFetchRoundTrip, FailedPlanWithEveryErrorCode) {
  for (int code = 1; code <= static_cast<int>(kLastCode); ++code) {
    StateFetchPlan m;
    m.fetcher = sampleId(0x30);
    m.code = static_cast<Code>(code);
    m.text = "shared state entry 'w' is 4 x f32 on peer 1 but 5 x f32 on peer 2";
    expectRoundTrip(m);
  }
}

// ---- Declared maximum sizes --------------------------------------------------------

std::string entryName(size_t i) {
  char digits[8];
  std::snprintf(digits, sizeof(digits), "%04zu", i);
  return std::string(kMaxStateEntryName - 4, 'n') + digits;
}

TEST(StateFetchLimits, LargestRequestIsTheDeclaredMaximum) {
  StateFetchRequest m;
  m.fetch = std::numeric_limits<uint64_t>::max();
  for (size_t i = 0; i < kMaxStateEntries; ++i)
    m.entries.push_back({entryName(i), i, 10, 1, sampleHash(1)});
  m.group = std::string(kMaxGroupName, 'g');
  const auto payload = encodePayload(m);
  EXPECT_EQ(payload.size(), StateFetchRequest::kMaxEncodedSize);
  EXPECT_EQ(verdict<StateFetchRequest>(payload), "accepted");
}

TEST(StateFetchLimits, LargestPlanIsTheDeclaredMaximum) {
  StateFetchPlan m;
  m.fetcher = sampleId(0x30);
  m.fetch = std::numeric_limits<uint64_t>::max();
  m.text = std::string(kMaxReason, 't');
  for (uint32_t e = 0; e < kMaxStateEntries; ++e)
    m.receive.push_back({e, sampleHash(2)});
  m.transfers.resize(kMaxPlanTransfers, {1, 4095, 0, 4096, sampleId(0x10), sampleId(0x30)});
  for (size_t i = 0; i < kMaxGroupMembers; ++i)
    m.addresses.push_back({sampleId(0x10), std::string(kMaxHostName, 'h'), 1});
  const auto payload = encodePayload(m);
  EXPECT_EQ(payload.size(), StateFetchPlan::kMaxEncodedSize);
  EXPECT_EQ(maxPayloadLength(MessageType::kStateFetchPlan), StateFetchPlan::kMaxEncodedSize);
  EXPECT_EQ(verdict<StateFetchPlan>(payload), "accepted");
}

// ---- Refusals ----------------------------------------------------------------------

TEST(StateFetchValidation, RequestEntriesAreCheckedLikeAVote) {
  StateFetchRequest m = sampleRequest();
  m.entries[1].name = "step";
  EXPECT_EQ(verdict(m),
            refused("StateFetchRequest", "entry names not in strictly increasing order at 'step'"));
  m = sampleRequest();
  m.entries[0].dtype = 12;
  EXPECT_EQ(verdict(m), refused("StateFetchRequest", "unknown dtype 12"));
  std::vector<uint8_t> payload(16, 0);  // fetch, pace
  appendLe<uint32_t>(payload, 4097);
  EXPECT_EQ(verdict<StateFetchRequest>(payload),
            refused("StateFetchRequest", "entry count 4097 exceeds 4096"));
}

TEST(StateFetchValidation, RequestGroupNameIsBounded) {
  StateFetchRequest m = sampleRequest();
  m.group = std::string(kMaxGroupName + 1, 'g');
  EXPECT_EQ(verdict(m), refused("StateFetchRequest", "group is 129 bytes, limit 128"));
  auto payload = encodePayload(sampleRequest());
  payload.resize(payload.size() - 3);  // the name cut short
  EXPECT_EQ(verdict<StateFetchRequest>(payload),
            refused("StateFetchRequest", "truncated at group: need 7 bytes, have 4"));
  payload.resize(payload.size() - 5);  // no name at all (an old encoding)
  EXPECT_EQ(verdict<StateFetchRequest>(payload),
            refused("StateFetchRequest", "truncated at group: need 2 bytes, have 1"));
}

TEST(StateFetchValidation, PlanWithoutFetcher) {
  StateFetchPlan m = samplePlan();
  m.fetcher = EndpointId{};
  EXPECT_EQ(verdict(m), refused("StateFetchPlan", "a fetch plan without its fetcher"));
}

TEST(StateFetchValidation, PlanTransferToAnotherPeer) {
  StateFetchPlan m = samplePlan();
  m.transfers[1].to = sampleId(0x10);
  m.transfers[1].from = sampleId(0x20);
  EXPECT_EQ(verdict(m),
            refused("StateFetchPlan", "a fetch plan transfer to another peer than the fetcher"));
}

TEST(StateFetchValidation, FailedPlanWithTransfers) {
  StateFetchPlan m = samplePlan();
  m.code = Code::kInvalidUsage;
  EXPECT_EQ(verdict(m), refused("StateFetchPlan", "a failed fetch plan lists transfers"));
}

TEST(StateFetchValidation, UnknownCode) {
  StateFetchPlan m = samplePlan();
  m.code = static_cast<Code>(static_cast<int>(kLastCode) + 1);
  EXPECT_EQ(verdict(m), refused("StateFetchPlan", "unknown code 13"));
}

TEST(StateFetchValidation, AddressWithoutPort) {
  StateFetchPlan m = samplePlan();
  m.addresses[2].port = 0;
  EXPECT_EQ(verdict(m), refused("StateFetchPlan", "address 2 has no id or address"));
}

TEST(StateFetchValidation, AddressCountOverTheLimit) {
  StateFetchPlan m;
  m.fetcher = sampleId(0x30);
  std::vector<uint8_t> payload = encodePayload(m);
  payload.resize(payload.size() - 4);
  appendLe<uint32_t>(payload, 4097);
  EXPECT_EQ(verdict<StateFetchPlan>(payload),
            refused("StateFetchPlan", "address count 4097 exceeds 4096"));
}

TEST(StateFetchValidation, DoneCountsBeyondTheLimit) {
  EXPECT_EQ(verdict(StateFetchDone{1, 1, 4097, 0}),
            refused("StateFetchDone", "entry counts beyond the limit"));
  EXPECT_EQ(verdict(StateFetchDone{1, 1, 0, std::numeric_limits<uint32_t>::max()}),
            refused("StateFetchDone", "entry counts beyond the limit"));
}

// Frames cut inside the fetch number (a peer of the encoding before it was
// added sends 8 bytes fewer).
TEST(StateFetchValidation, TruncatedFetchNumber) {
  EXPECT_EQ(verdict<StateFetchRequest>(std::vector<uint8_t>(5, 0)),
            refused("StateFetchRequest", "truncated at fetch: need 8 bytes, have 5"));
  auto plan = encodePayload(samplePlan());
  plan.resize(8 + 8 + 16 + 3);
  EXPECT_EQ(verdict<StateFetchPlan>(plan),
            refused("StateFetchPlan", "truncated at fetch: need 8 bytes, have 3"));
  auto done = encodePayload(StateFetchDone{1, 2, 3, 4});
  done.resize(StateFetchDone::kEncodedSize - 8);  // the old 16-byte encoding's length
  EXPECT_EQ(verdict<StateFetchDone>(done),
            refused("StateFetchDone", "truncated at entries verified: need 4 bytes, have 0"));
  done.resize(6);
  EXPECT_EQ(verdict<StateFetchDone>(done),
            refused("StateFetchDone", "truncated at fetch: need 8 bytes, have 6"));
}

TEST(StateFetchValidation, TrailingBytes) {
  auto payload = encodePayload(samplePlan());
  payload.push_back(0);
  EXPECT_EQ(verdict<StateFetchPlan>(payload), refused("StateFetchPlan", "1 trailing bytes"));
}

}  // namespace
}  // namespace eccl::protocol::test
