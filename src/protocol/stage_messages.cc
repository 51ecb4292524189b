#include "src/protocol/stage_messages.h"

#include <bit>
#include <cmath>
#include <string>

namespace eccl::protocol {
namespace {

bool validMetric(double value) {
  return std::isfinite(value) && value >= 0;
}

void checkStage(ByteReader& in, uint32_t stage) {
  if (in.ok() && stage >= kMaxStages) {
    in.fail("stage " + std::to_string(stage) + " exceeds the limit of " +
            std::to_string(kMaxStages) + " stages");
  }
}

}  // namespace

void StageMetric::encode(ByteWriter& out) const {
  out.put<uint64_t>(round);
  putDouble(out, value);
}

StageMetric StageMetric::decode(ByteReader& in) {
  StageMetric m;
  m.round = in.get<uint64_t>("round");
  m.value = getDouble(in, "value");
  if (in.ok() && !validMetric(m.value)) {
    in.fail("metric " + std::to_string(m.value) + " is not a finite value >= 0");
  }
  return m;
}

void StageQuery::encode(ByteWriter& out) const {
  out.put<uint64_t>(request);
  out.put<uint32_t>(stage);
}

StageQuery StageQuery::decode(ByteReader& in) {
  StageQuery m;
  m.request = in.get<uint64_t>("request");
  m.stage = in.get<uint32_t>("stage");
  checkStage(in, m.stage);
  return m;
}

void StageAnnounce::encode(ByteWriter& out) const {
  out.put<uint64_t>(request);
  out.put<uint64_t>(round);
}

StageAnnounce StageAnnounce::decode(ByteReader& in) {
  StageAnnounce m;
  m.request = in.get<uint64_t>("request");
  m.round = in.get<uint64_t>("round");
  return m;
}

void StageInfo::encode(ByteWriter& out) const {
  out.put<uint64_t>(request);
  out.put<uint32_t>(stage);
  out.put<uint8_t>(static_cast<uint8_t>(state));
  out.putString(group);
  out.put<uint32_t>(accepted);
  out.put<uint8_t>(has_metric ? 1 : 0);
  out.put<uint64_t>(metric_round);
  putDouble(out, metric);
  out.putBytes(metric_peer.bytes);
}

StageInfo StageInfo::decode(ByteReader& in) {
  StageInfo m;
  m.request = in.get<uint64_t>("request");
  m.stage = in.get<uint32_t>("stage");
  const uint8_t state = in.get<uint8_t>("state");
  m.group = in.getString("group", kMaxGroupName);
  m.accepted = in.get<uint32_t>("accepted");
  const uint8_t has_metric = in.get<uint8_t>("has_metric");
  m.metric_round = in.get<uint64_t>("metric_round");
  m.metric = getDouble(in, "metric");
  m.metric_peer.bytes = in.getArray<16>("metric_peer");
  checkStage(in, m.stage);
  if (!in.ok()) return m;
  if (state > static_cast<uint8_t>(StageState::kRecovering)) {
    in.fail("unknown stage state " + std::to_string(state));
    return m;
  }
  m.state = static_cast<StageState>(state);
  m.has_metric = has_metric == 1;
  if (has_metric > 1) {
    in.fail("has_metric is " + std::to_string(has_metric) + ", must be 0 or 1");
  } else if (m.accepted > kMaxGroupMembers) {
    in.fail(std::to_string(m.accepted) + " accepted peers exceed the group limit");
  } else if ((m.state == StageState::kUnknown) != m.group.empty()) {
    in.fail("a known stage needs its group, an unknown one has none");
  } else if (m.state == StageState::kUnknown && (m.accepted != 0 || m.has_metric)) {
    in.fail("an unknown stage has no peers and no metric");
  } else if (m.has_metric && (!validMetric(m.metric) || m.metric_peer.isZero())) {
    in.fail("a metric must be a finite value >= 0 with its reporting peer");
  } else if (!m.has_metric && (m.metric_round != 0 || std::bit_cast<uint64_t>(m.metric) != 0 ||
                               !m.metric_peer.isZero())) {
    in.fail("no metric, yet its fields are set");
  }
  return m;
}

void StageEvent::encode(ByteWriter& out) const {
  out.put<uint8_t>(static_cast<uint8_t>(kind));
  out.put<uint32_t>(stage);
  out.put<uint64_t>(round);
  out.putString(group);
}

StageEvent StageEvent::decode(ByteReader& in) {
  StageEvent m;
  const uint8_t kind = in.get<uint8_t>("kind");
  m.stage = in.get<uint32_t>("stage");
  m.round = in.get<uint64_t>("round");
  m.group = in.getString("group", kMaxGroupName);
  checkStage(in, m.stage);
  if (!in.ok()) return m;
  if (kind < static_cast<uint8_t>(StageEventKind::kLost) ||
      kind > static_cast<uint8_t>(StageEventKind::kRestored)) {
    in.fail("unknown stage event kind " + std::to_string(kind));
  } else if (m.group.empty()) {
    in.fail("a stage event names the stage's group");
  } else if (kind == static_cast<uint8_t>(StageEventKind::kLost) && m.round != 0) {
    in.fail("a lost stage has no round, got " + std::to_string(m.round));
  } else {
    m.kind = static_cast<StageEventKind>(kind);
  }
  return m;
}

}  // namespace eccl::protocol
