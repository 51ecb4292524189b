#include "src/coll/quant_ring_op.h"

#include <algorithm>

namespace eccl::coll {

QuantRingOp::QuantRingOp(const RingView& ring, const RingPlan& plan, const CollOptions& options,
                         Clock::time_point deadline, OpState& state, const OpDigest& digest,
                         std::string name, uint8_t* buffer)
    : RingOp(ring, plan, options, deadline, state, digest, std::move(name)),
      buf_(buffer),
      config_(digest.quant) {}

size_t QuantRingOp::wireBytes(Span span) const {
  return quant::encodedBytes(config_, digest_.dtype, span.count);
}

void QuantRingOp::startData() {
  slot_bytes_ = std::max<size_t>(
      1, quant::encodedBytes(config_, digest_.dtype,
                             std::min(plan_.chunkElements(), plan_.largestSegment())));
  // Step 0 sends this peer's own data: nothing to wait for.
  for (uint32_t c = 0; plan_.steps() > 0 && c < plan_.sendChunks(0); ++c)
    encodeAndSend(0, c);
}

uint32_t QuantRingOp::takeSlot() {
  if (free_slots_.empty()) {
    slots_.push_back(std::make_unique_for_overwrite<uint8_t[]>(slot_bytes_));
    return static_cast<uint32_t>(slots_.size() - 1);
  }
  const uint32_t index = free_slots_.back();
  free_slots_.pop_back();
  return index;
}

void QuantRingOp::postReceives() {
  // Receives land in slots, never in the buffer: no send reads the buffer,
  // so they need not wait for one.
  while (!failed() && !cursor_.done() && recvs_in_flight_ < options_.pipeline_depth) {
    const uint32_t t = cursor_.step();
    const uint32_t c = cursor_.chunk();
    const uint32_t index = takeSlot();
    recv_slot_[stepChunkKey(t, c)] = index;
    ++recvs_in_flight_;
    cursor_.advance();
    recvChunk(t, c, slot(index));
  }
}

void QuantRingOp::sendSlot(uint32_t step, uint32_t chunk, uint32_t index) {
  send_slot_[stepChunkKey(step, chunk)] = index;
  sendChunk(step, chunk, slot(index));
}

void QuantRingOp::encodeAndSend(uint32_t step, uint32_t chunk) {
  const Span span = plan_.chunk(plan_.sendSegment(step), chunk);
  const uint32_t index = takeSlot();
  quant::encode(config_, digest_.dtype, buf_ + span.offset * element_, span.count, slot(index));
  sendSlot(step, chunk, index);
}

void QuantRingOp::onReceived(uint32_t step, uint32_t chunk, bool usable) {
  --recvs_in_flight_;
  const auto it = recv_slot_.find(stepChunkKey(step, chunk));
  const uint32_t index = it->second;
  recv_slot_.erase(it);
  if (!usable) {
    free_slots_.push_back(index);
    return;
  }
  const Span span = plan_.chunk(plan_.recvSegment(step), chunk);
  uint8_t* at = buf_ + span.offset * element_;
  const bool forward = step + 1 < plan_.steps() && plan_.hasSend(step + 1);
  if (plan_.isReduceScatter(step)) {
    quant::decodeReduce(config_, digest_.dtype, digest_.op, slot(index), span.count, at);
    free_slots_.push_back(index);
    if (!plan_.isLastReduce(step)) {
      if (forward) encodeAndSend(step + 1, chunk);
      return;
    }
    // This peer owns the chunk now: quantize it once, and keep exactly what
    // every other peer will decode.
    if (digest_.op == reduce::ReduceOp::kAvg) {
      reduce::finishAverage(at, span.count, digest_.dtype, ring_.world_size);
    }
    const uint32_t final_bytes = takeSlot();
    quant::encode(config_, digest_.dtype, at, span.count, slot(final_bytes));
    quant::decode(config_, digest_.dtype, slot(final_bytes), span.count, at);
    if (forward) {
      sendSlot(step + 1, chunk, final_bytes);
    } else {
      free_slots_.push_back(final_bytes);
    }
    return;
  }
  // All-gather: the owner's bytes, decoded here and passed on unchanged.
  quant::decode(config_, digest_.dtype, slot(index), span.count, at);
  if (forward) {
    sendSlot(step + 1, chunk, index);
  } else {
    free_slots_.push_back(index);
  }
}

void QuantRingOp::onSent(uint32_t step, uint32_t chunk, bool /*ok*/) {
  const auto it = send_slot_.find(stepChunkKey(step, chunk));
  free_slots_.push_back(it->second);
  send_slot_.erase(it);
}

}  // namespace eccl::coll
