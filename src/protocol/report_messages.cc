#include "src/protocol/report_messages.h"

#include <cmath>
#include <string>

namespace eccl::protocol {

void PeerReport::encode(ByteWriter& out) const {
  out.put<uint64_t>(revision);
  out.put<uint64_t>(ops_completed);
  out.put<uint64_t>(ops_failed);
  out.put<uint8_t>(static_cast<uint8_t>(running_phase));
  out.put<uint64_t>(running_tag);
  out.put<uint32_t>(running_ms);
  out.putBytes(waiting_on.bytes);
  out.put<uint32_t>(waiting_ms);
  out.put<uint16_t>(static_cast<uint16_t>(links.size()));
  for (const LinkReport& link : links) {
    out.putBytes(link.peer.bytes);
    out.put<uint64_t>(link.bytes_sent);
    out.put<uint64_t>(link.bytes_received);
    out.put<uint64_t>(link.wait_ns);
    out.put<uint64_t>(link.send_busy_ns);
    out.put<uint32_t>(link.send_stalled_ms);
  }
}

PeerReport PeerReport::decode(ByteReader& in) {
  PeerReport m;
  m.revision = in.get<uint64_t>("revision");
  m.ops_completed = in.get<uint64_t>("ops_completed");
  m.ops_failed = in.get<uint64_t>("ops_failed");
  const auto phase = in.get<uint8_t>("running_phase");
  if (in.ok() && phase > static_cast<uint8_t>(RunningPhase::kCompletion)) {
    in.fail("unknown running phase " + std::to_string(phase));
  }
  m.running_phase = static_cast<RunningPhase>(phase);
  m.running_tag = in.get<uint64_t>("running_tag");
  m.running_ms = in.get<uint32_t>("running_ms");
  m.waiting_on.bytes = in.getArray<16>("waiting_on");
  m.waiting_ms = in.get<uint32_t>("waiting_ms");
  if (in.ok() && m.running_phase == RunningPhase::kNone &&
      (m.running_tag != 0 || m.running_ms != 0 || !m.waiting_on.isZero() || m.waiting_ms != 0)) {
    in.fail("a report without a running op describes one");
  }
  if (in.ok() && m.waiting_on.isZero() && m.waiting_ms != 0) {
    in.fail("a report blocked on nobody says for how long");
  }
  const auto count = in.get<uint16_t>("link count");
  if (in.ok() && count > kMaxLinks) {
    in.fail("link count " + std::to_string(count) + " exceeds the limit of " +
            std::to_string(kMaxLinks));
  }
  if (!in.ok()) return m;
  m.links.reserve(count);
  for (uint16_t i = 0; i < count && in.ok(); ++i) {
    LinkReport link;
    link.peer.bytes = in.getArray<16>("link peer");
    link.bytes_sent = in.get<uint64_t>("link bytes_sent");
    link.bytes_received = in.get<uint64_t>("link bytes_received");
    link.wait_ns = in.get<uint64_t>("link wait_ns");
    link.send_busy_ns = in.get<uint64_t>("link send_busy_ns");
    link.send_stalled_ms = in.get<uint32_t>("link send_stalled_ms");
    if (in.ok() && link.peer.isZero()) in.fail("a link to the zero peer id");
    for (const LinkReport& earlier : m.links) {
      if (in.ok() && earlier.peer == link.peer) in.fail("two links to one peer");
    }
    m.links.push_back(link);
  }
  return m;
}

void AnomalyEvent::encode(ByteWriter& out) const {
  out.put<uint8_t>(static_cast<uint8_t>(kind));
  out.putBytes(peer.bytes);
  out.putBytes(link_to.bytes);
  out.put<uint64_t>(revision);
  putDouble(out, value);
  putDouble(out, threshold);
}

AnomalyEvent AnomalyEvent::decode(ByteReader& in) {
  AnomalyEvent m;
  const auto kind = in.get<uint8_t>("kind");
  if (in.ok() && (kind == 0 || kind > kLastAnomalyKind)) {
    in.fail("unknown anomaly kind " + std::to_string(kind));
  }
  m.kind = static_cast<AnomalyKind>(kind);
  m.peer.bytes = in.getArray<16>("peer");
  m.link_to.bytes = in.getArray<16>("link_to");
  m.revision = in.get<uint64_t>("revision");
  m.value = getDouble(in, "value");
  m.threshold = getDouble(in, "threshold");
  if (in.ok() && m.peer.isZero()) in.fail("an anomaly about the zero peer id");
  const bool about_link = m.kind == AnomalyKind::kSlowLink || m.kind == AnomalyKind::kFrozenLink;
  if (in.ok() && about_link && (m.link_to.isZero() || m.link_to == m.peer)) {
    in.fail("a link anomaly without a link's other end");
  }
  if (in.ok() && !about_link && !m.link_to.isZero()) {
    in.fail("an anomaly about a peer names a link");
  }
  for (double number : {m.value, m.threshold}) {
    if (in.ok() && !(std::isfinite(number) && number >= 0)) {
      in.fail("anomaly evidence " + std::to_string(number) + " is not a finite value >= 0");
    }
  }
  return m;
}

}  // namespace eccl::protocol
