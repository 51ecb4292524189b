#include "src/coll/buffer_ring_op.h"

#include <algorithm>

namespace eccl::coll {

BufferRingOp::BufferRingOp(const RingView& ring, const RingPlan& plan, const CollOptions& options,
                           Clock::time_point deadline, OpState& state, const OpDigest& digest,
                           std::string name, uint8_t* buffer)
    : RingOp(ring, plan, options, deadline, state, digest, std::move(name)), buf_(buffer) {}

void BufferRingOp::startData() {
  sending_.assign(size_t{plan_.segments()} * plan_.maxChunks(), 0);
  bool reduces = false;
  for (uint32_t t = 0; t < plan_.steps(); ++t)
    reduces = reduces || plan_.isReduceScatter(t);
  if (reduces) {
    slot_bytes_ = std::min(plan_.chunkElements(), plan_.largestSegment()) * element_;
    const uint32_t slots = std::min<uint32_t>(options_.pipeline_depth, plan_.maxChunks());
    staging_.resize(size_t{slots} * slot_bytes_);
    for (uint32_t s = slots; s-- > 0;)
      free_slots_.push_back(s);
  }
  // Step 0 sends this peer's own data: nothing to wait for.
  for (uint32_t c = 0; plan_.steps() > 0 && c < plan_.sendChunks(0); ++c)
    postSend(0, c);
}

void BufferRingOp::postReceives() {
  while (!failed() && !cursor_.done() && recvs_in_flight_ < options_.receives_ahead) {
    const uint32_t t = cursor_.step();
    const uint32_t c = cursor_.chunk();
    const uint32_t seg = plan_.recvSegment(t);
    uint8_t* into = nullptr;
    if (plan_.isReduceScatter(t)) {
      if (free_slots_.empty()) return;
      const uint32_t slot = free_slots_.back();
      free_slots_.pop_back();
      slot_of_[stepChunkKey(t, c)] = slot;
      into = staging_.data() + size_t{slot} * slot_bytes_;
    } else {
      if (sending_[region(seg, c)] != 0) return;
      into = buf_ + plan_.chunk(seg, c).offset * element_;
    }
    ++recvs_in_flight_;
    cursor_.advance();
    recvChunk(t, c, into);
  }
}

void BufferRingOp::postSend(uint32_t step, uint32_t chunk) {
  const uint32_t seg = plan_.sendSegment(step);
  ++sending_[region(seg, chunk)];
  sendChunk(step, chunk, buf_ + plan_.chunk(seg, chunk).offset * element_);
}

void BufferRingOp::onReceived(uint32_t step, uint32_t chunk, bool usable) {
  --recvs_in_flight_;
  std::optional<uint32_t> slot;
  if (auto it = slot_of_.find(stepChunkKey(step, chunk)); it != slot_of_.end()) {
    slot = it->second;
    slot_of_.erase(it);
  }
  if (!usable) {
    if (slot) free_slots_.push_back(*slot);
    return;
  }
  const Span span = plan_.chunk(plan_.recvSegment(step), chunk);
  uint8_t* at = buf_ + span.offset * element_;
  if (plan_.isReduceScatter(step)) {
    // No send reads this chunk now: it leaves at step + 1, after this.
    reduce::reduceInto(at, staging_.data() + size_t{*slot} * slot_bytes_, span.count, digest_.dtype,
                       digest_.op);
    free_slots_.push_back(*slot);
    // The owner finishes the average once, before everyone copies its bytes.
    if (plan_.isLastReduce(step) && digest_.op == reduce::ReduceOp::kAvg) {
      reduce::finishAverage(at, span.count, digest_.dtype, ring_.world_size);
    }
  }
  if (step + 1 < plan_.steps() && plan_.hasSend(step + 1)) postSend(step + 1, chunk);
}

void BufferRingOp::onSent(uint32_t step, uint32_t chunk, bool /*ok*/) {
  --sending_[region(plan_.sendSegment(step), chunk)];
}

}  // namespace eccl::coll
