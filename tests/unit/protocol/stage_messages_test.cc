// Pipeline stages on the wire (stage_messages.h, and Register's stage fields):
// exact encodings, and every refusal of a malformed or inconsistent message.
// Round trips and truncations are covered with the other messages in
// message_codec_test.cc.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "tests/unit/protocol/message_samples.h"

namespace eccl::protocol::test {
namespace {

std::string refused(std::string_view type, const std::string& message) {
  return "ProtocolError: " + std::string(type) + ": " + message;
}

// ---- Register's stage fields ---------------------------------------------------

Register registerWithStage(int32_t stage, uint32_t num_stages) {
  Register m = MessageTraits<Register>::sample();
  m.stage = stage;
  m.num_stages = num_stages;
  return m;
}

// A Register whose stage field carries `raw` (any u32) and num_stages `num`.
std::vector<uint8_t> registerWithRawStage(uint32_t raw, uint32_t num) {
  std::vector<uint8_t> payload = encodePayload(MessageTraits<Register>::sample());
  payload.resize(payload.size() - 8);
  appendLe<uint32_t>(payload, raw);
  appendLe<uint32_t>(payload, num);
  return payload;
}

TEST(RegisterStage, NoStageIsAllOnesOnTheWire) {
  const std::vector<uint8_t> payload = encodePayload(registerWithStage(-1, 0));
  const std::vector<uint8_t> tail(payload.end() - 8, payload.end());
  EXPECT_EQ(tail, (std::vector<uint8_t>{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}));
  auto decoded = decodeMessage<Register>(payload);
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(decoded->stage, -1);
  EXPECT_EQ(decoded->num_stages, 0u);
}

TEST(RegisterStage, StageLimitsAreInclusive) {
  for (auto [stage, num] : {std::pair<int32_t, uint32_t>{0, 1}, {4095, 4096}, {0, 4096}}) {
    auto decoded = decodeMessage<Register>(encodePayload(registerWithStage(stage, num)));
    ASSERT_TRUE(decoded.isOk()) << stage << "/" << num << ": " << decoded.status().toString();
    EXPECT_EQ(decoded->stage, stage);
    EXPECT_EQ(decoded->num_stages, num);
  }
}

TEST(RegisterStage, InconsistentStagesAreRefused) {
  EXPECT_EQ(verdict<Register>(registerWithRawStage(kNoStage, 3)),
            refused("Register", "a pipeline of 3 stages without a stage"));
  EXPECT_EQ(verdict<Register>(registerWithRawStage(0, 0)),
            refused("Register", "a pipeline of 0 stages (must be 1..4096)"));
  EXPECT_EQ(verdict<Register>(registerWithRawStage(0, 4097)),
            refused("Register", "a pipeline of 4097 stages (must be 1..4096)"));
  EXPECT_EQ(verdict<Register>(registerWithRawStage(3, 3)),
            refused("Register", "stage 3 outside a pipeline of 3 stages"));
  EXPECT_EQ(verdict<Register>(registerWithRawStage(0xfffffffeu, 4096)),
            refused("Register", "stage 4294967294 outside a pipeline of 4096 stages"));
}

TEST(RegisterStage, EarlierChecksComeFirst) {
  // A bad state byte is reported even when the stage fields are bad too.
  std::vector<uint8_t> payload = registerWithRawStage(7, 2);
  const Register sample = MessageTraits<Register>::sample();
  payload[16 + 32 + 2 + sample.group.size() + 2 + sample.host.size() + 2] = 9;
  EXPECT_EQ(verdict<Register>(payload), refused("Register", "unknown peer state 9"));
}

// ---- StageMetric ------------------------------------------------------------------

TEST(StageMetricGolden, RoundThenTheBitsOfTheValue) {
  std::vector<uint8_t> expected = {8, 7, 6, 5, 4, 3, 2, 1};
  appendLe<uint64_t>(expected, std::bit_cast<uint64_t>(12.375));
  EXPECT_EQ(encodePayload(MessageTraits<StageMetric>::sample()), expected);
  EXPECT_EQ(std::bit_cast<uint64_t>(12.375), 0x4028c00000000000ULL);
}

TEST(StageMetricValidation, OnlyFiniteNonNegativeValues) {
  EXPECT_EQ(verdict(StageMetric{1, 0.0}), "accepted");
  EXPECT_EQ(verdict(StageMetric{1, std::numeric_limits<double>::max()}), "accepted");
  EXPECT_EQ(verdict(StageMetric{1, std::numeric_limits<double>::denorm_min()}), "accepted");
  EXPECT_EQ(verdict(StageMetric{1, -1.0}),
            refused("StageMetric", "metric -1.000000 is not a finite value >= 0"));
  EXPECT_EQ(verdict(StageMetric{1, std::numeric_limits<double>::infinity()}),
            refused("StageMetric", "metric inf is not a finite value >= 0"));
  EXPECT_EQ(verdict(StageMetric{1, std::numeric_limits<double>::quiet_NaN()}),
            refused("StageMetric", "metric nan is not a finite value >= 0"));
}

// ---- StageQuery -------------------------------------------------------------------

TEST(StageQueryGolden, RequestThenStage) {
  const std::vector<uint8_t> expected = {0x18, 0x17, 0x16, 0x15, 0x14, 0x13,
                                         0x12, 0x11, 0xff, 0x0f, 0,    0};
  EXPECT_EQ(encodePayload(MessageTraits<StageQuery>::sample()), expected);
}

TEST(StageQueryValidation, StageBelowTheLimit) {
  EXPECT_EQ(verdict(StageQuery{1, 0}), "accepted");
  EXPECT_EQ(verdict(StageQuery{1, kMaxStages}),
            refused("StageQuery", "stage 4096 exceeds the limit of 4096 stages"));
}

// ---- StageInfo --------------------------------------------------------------------

TEST(StageInfoGolden, EveryField) {
  const StageInfo m = MessageTraits<StageInfo>::sample();
  std::vector<uint8_t> expected;
  appendLe<uint64_t>(expected, 0x2122232425262728ULL);
  appendLe<uint32_t>(expected, 3);
  appendLe<uint8_t>(expected, 2);  // StageState::kLost
  appendString(expected, "stage-3");
  appendLe<uint32_t>(expected, 0);
  appendLe<uint8_t>(expected, 1);
  appendLe<uint64_t>(expected, 0x3132333435363738ULL);
  appendLe<uint64_t>(expected, 0x3fe0000000000000ULL);  // 0.5
  appendBytes(expected, m.metric_peer.bytes);
  EXPECT_EQ(encodePayload(m), expected);
}

TEST(StageInfoGolden, LongestGroupIsTheDeclaredMaximum) {
  StageInfo m = MessageTraits<StageInfo>::sample();
  m.group = std::string(kMaxGroupName, 'g');
  EXPECT_EQ(encodePayload(m).size(), StageInfo::kMaxEncodedSize);
  EXPECT_EQ(StageInfo::kMaxEncodedSize, 180u);
}

TEST(StageInfoValidation, EveryStateDecodes) {
  StageInfo unknown;
  unknown.stage = 9;
  EXPECT_EQ(verdict(unknown), "accepted");
  StageInfo recovering = MessageTraits<StageInfo>::sample();
  recovering.state = StageState::kRecovering;
  recovering.accepted = 1;
  EXPECT_EQ(verdict(recovering), "accepted");
  std::vector<uint8_t> payload = encodePayload(recovering);
  EXPECT_EQ(payload[8 + 4], 3) << "kRecovering on the wire";
  StageInfo active = MessageTraits<StageInfo>::sample();
  active.state = StageState::kActive;
  active.accepted = 4096;
  EXPECT_EQ(verdict(active), "accepted");
  StageInfo no_metric = MessageTraits<StageInfo>::sample();
  no_metric.has_metric = false;
  no_metric.metric_round = 0;
  no_metric.metric = 0;
  no_metric.metric_peer = EndpointId();
  EXPECT_EQ(verdict(no_metric), "accepted");
}

TEST(StageInfoValidation, MalformedFieldsAreRefused) {
  const StageInfo sample = MessageTraits<StageInfo>::sample();
  const size_t state_at = 8 + 4;
  std::vector<uint8_t> bad_state = encodePayload(sample);
  bad_state[state_at] = 4;
  EXPECT_EQ(verdict<StageInfo>(bad_state), refused("StageInfo", "unknown stage state 4"));
  bad_state[state_at] = 255;
  EXPECT_EQ(verdict<StageInfo>(bad_state), refused("StageInfo", "unknown stage state 255"));
  std::vector<uint8_t> bad_flag = encodePayload(sample);
  bad_flag[state_at + 1 + 2 + sample.group.size() + 4] = 2;
  EXPECT_EQ(verdict<StageInfo>(bad_flag), refused("StageInfo", "has_metric is 2, must be 0 or 1"));

  StageInfo m = sample;
  m.stage = kMaxStages;
  EXPECT_EQ(verdict(m), refused("StageInfo", "stage 4096 exceeds the limit of 4096 stages"));
  m = sample;
  m.accepted = 4097;
  EXPECT_EQ(verdict(m), refused("StageInfo", "4097 accepted peers exceed the group limit"));
  m = sample;
  m.group.clear();
  EXPECT_EQ(verdict(m),
            refused("StageInfo", "a known stage needs its group, an unknown one has none"));
  m = StageInfo();
  m.group = "g";
  EXPECT_EQ(verdict(m),
            refused("StageInfo", "a known stage needs its group, an unknown one has none"));
  m = StageInfo();
  m.accepted = 1;
  EXPECT_EQ(verdict(m), refused("StageInfo", "an unknown stage has no peers and no metric"));
  m = sample;
  m.state = StageState::kRecovering;
  m.group.clear();
  EXPECT_EQ(verdict(m),
            refused("StageInfo", "a known stage needs its group, an unknown one has none"));
}

TEST(StageInfoValidation, MetricFieldsMatchHasMetric) {
  const std::string bad_metric = "a metric must be a finite value >= 0 with its reporting peer";
  StageInfo m = MessageTraits<StageInfo>::sample();
  m.metric = -0.5;
  EXPECT_EQ(verdict(m), refused("StageInfo", bad_metric));
  m.metric = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(verdict(m), refused("StageInfo", bad_metric));
  m = MessageTraits<StageInfo>::sample();
  m.metric_peer = EndpointId();
  EXPECT_EQ(verdict(m), refused("StageInfo", bad_metric));
  // Without a metric every metric field is zero: one encoding per value.
  for (int field = 0; field < 3; ++field) {
    m = MessageTraits<StageInfo>::sample();
    m.has_metric = false;
    m.metric_round = field == 0 ? 1 : 0;
    m.metric = field == 1 ? -0.0 : 0.0;
    m.metric_peer = field == 2 ? sampleId(1) : EndpointId();
    EXPECT_EQ(verdict(m), refused("StageInfo", "no metric, yet its fields are set")) << field;
  }
}

// ---- StageEvent -------------------------------------------------------------------

TEST(StageEventGolden, KindStageRoundGroup) {
  std::vector<uint8_t> expected = {2, 0x0b, 0x0a, 0, 0};  // kRestored, stage 0x0a0b
  appendLe<uint64_t>(expected, 0x4142434445464748ULL);    // the announced round
  appendString(expected, "pipe-stage");
  EXPECT_EQ(encodePayload(MessageTraits<StageEvent>::sample()), expected);
  EXPECT_EQ(expected.size(), 1u + 4 + 8 + 2 + 10);
}

TEST(StageEventGolden, LongestGroupIsTheDeclaredMaximum) {
  StageEvent m = MessageTraits<StageEvent>::sample();
  m.group = std::string(kMaxGroupName, 'g');
  EXPECT_EQ(encodePayload(m).size(), StageEvent::kMaxEncodedSize);
  EXPECT_EQ(StageEvent::kMaxEncodedSize, 143u);
}

TEST(StageEventValidation, KindStageRoundAndGroupAreChecked) {
  StageEvent m = MessageTraits<StageEvent>::sample();
  EXPECT_EQ(verdict(m), "accepted");
  m.round = 0;
  EXPECT_EQ(verdict(m), "accepted") << "a restoration from round 0";
  m.round = 1;
  m.kind = StageEventKind::kLost;
  EXPECT_EQ(verdict(m), refused("StageEvent", "a lost stage has no round, got 1"));
  m.round = 0;
  EXPECT_EQ(verdict(m), "accepted");
  for (uint8_t kind : {0, 3, 255}) {
    std::vector<uint8_t> payload = encodePayload(m);
    payload[0] = kind;
    EXPECT_EQ(verdict<StageEvent>(payload),
              refused("StageEvent", "unknown stage event kind " + std::to_string(kind)));
  }
  m.stage = kMaxStages;
  EXPECT_EQ(verdict(m), refused("StageEvent", "stage 4096 exceeds the limit of 4096 stages"));
  m.stage = 1;
  m.group.clear();
  EXPECT_EQ(verdict(m), refused("StageEvent", "a stage event names the stage's group"));
  m.group = std::string(kMaxGroupName + 1, 'g');
  EXPECT_EQ(verdict(m), refused("StageEvent", "group is 129 bytes, limit 128"));
}

// ---- StageAnnounce ----------------------------------------------------------------

TEST(StageAnnounceGolden, RequestThenRound) {
  std::vector<uint8_t> expected = {0x58, 0x57, 0x56, 0x55, 0x54, 0x53, 0x52, 0x51};
  appendLe<uint64_t>(expected, 0x0102030405060708ULL);
  EXPECT_EQ(encodePayload(MessageTraits<StageAnnounce>::sample()), expected);
  EXPECT_EQ(StageAnnounce::kEncodedSize, 16u);
}

TEST(StageAnnounceValidation, AnyRoundDecodes) {
  EXPECT_EQ(verdict(StageAnnounce{0, 0}), "accepted");
  EXPECT_EQ(verdict(StageAnnounce{~0ULL, ~0ULL}), "accepted");
  std::vector<uint8_t> longer = encodePayload(MessageTraits<StageAnnounce>::sample());
  longer.push_back(0);
  EXPECT_NE(verdict<StageAnnounce>(longer), "accepted") << "bytes past the end";
}

TEST(StageMessages, EnumNumbersAreStableOnTheWire) {
  EXPECT_EQ(static_cast<uint8_t>(StageState::kUnknown), 0);
  EXPECT_EQ(static_cast<uint8_t>(StageState::kActive), 1);
  EXPECT_EQ(static_cast<uint8_t>(StageState::kLost), 2);
  EXPECT_EQ(static_cast<uint8_t>(StageState::kRecovering), 3);
  EXPECT_EQ(static_cast<uint8_t>(StageEventKind::kLost), 1);
  EXPECT_EQ(static_cast<uint8_t>(StageEventKind::kRestored), 2);
  EXPECT_EQ(kNoStage, 0xffffffffu);
  EXPECT_EQ(kMaxStages, 4096u);
}

}  // namespace
}  // namespace eccl::protocol::test
