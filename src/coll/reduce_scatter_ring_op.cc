#include "src/coll/reduce_scatter_ring_op.h"

#include <algorithm>

namespace eccl::coll {

ReduceScatterRingOp::ReduceScatterRingOp(const RingView& ring, const RingPlan& plan,
                                         const CollOptions& options, Clock::time_point deadline,
                                         OpState& state, const OpDigest& digest, std::string name,
                                         const uint8_t* in, uint8_t* out)
    : RingOp(ring, plan, options, deadline, state, digest, std::move(name)),
      in_(in),
      out_(out),
      own_offset_(plan.segment(ring.rank).offset),
      depth_(options.pipeline_depth) {}

void ReduceScatterRingOp::startData() {
  uint32_t most = 0;
  uint64_t recvs = 0;
  uint64_t sends = 0;
  for (uint32_t t = 0; t < plan_.steps(); ++t) {
    most = std::max(most, plan_.recvChunks(t));
    recvs += plan_.recvChunks(t);
    sends += plan_.sendChunks(t);
  }
  for (uint32_t group = 0; group < most; group += depth_) {
    for (uint32_t t = 0; t < plan_.steps(); ++t) {
      const uint32_t end = std::min(plan_.recvChunks(t), group + depth_);
      for (uint32_t c = group; c < end; ++c)
        order_.emplace_back(t, c);
    }
  }
  recv_slot_.assign(recvs, kNoSlot);
  received_.assign(recvs, 0);
  send_slot_.assign(sends, kNoSlot);
  slot_bytes_ = std::min(plan_.chunkElements(), plan_.largestSegment()) * element_;
  const uint32_t slots = 2 * depth_;
  staging_.resize(size_t{slots} * slot_bytes_);
  for (uint32_t s = slots; s-- > 0;)
    free_slots_.push_back(s);
  // Step 0 sends this peer's own data, straight from sendbuf.
  for (uint32_t c = 0; plan_.steps() > 0 && c < plan_.sendChunks(0); ++c)
    sendChunk(0, c, in_ + plan_.chunk(plan_.sendSegment(0), c).offset * element_);
}

void ReduceScatterRingOp::postReceives() {
  // receiving_ + forwarding_ <= 2 * depth_ slots: one is free whenever receiving_ < depth_.
  while (!failed() && posted_ < order_.size() && receiving_ < depth_) {
    const auto [t, c] = order_[posted_++];
    const uint32_t s = free_slots_.back();
    free_slots_.pop_back();
    recv_slot_[recvKey(t, c)] = s;
    ++receiving_;
    recvChunk(t, c, slot(s));
  }
}

void ReduceScatterRingOp::onReceived(uint32_t step, uint32_t chunk, bool usable) {
  const uint32_t key = recvKey(step, chunk);
  if (!usable) {
    free_slots_.push_back(recv_slot_[key]);
    recv_slot_[key] = kNoSlot;
    --receiving_;
    return;
  }
  received_[key] = 1;
  process();
}

void ReduceScatterRingOp::process() {
  while (!failed() && processed_ < posted_) {
    const auto [t, c] = order_[processed_];
    const uint32_t key = recvKey(t, c);
    if (!received_[key]) return;
    const uint32_t s = recv_slot_[key];
    const Span span = plan_.chunk(plan_.recvSegment(t), c);
    if (plan_.isLastReduce(t)) {
      // This rank's block: its final value, reduced once, here.
      uint8_t* at = out_ + (span.offset - own_offset_) * element_;
      reduce::reduceInto(at, slot(s), span.count, digest_.dtype, digest_.op);
      if (digest_.op == reduce::ReduceOp::kAvg) {
        reduce::finishAverage(at, span.count, digest_.dtype, ring_.world_size);
      }
      free_slots_.push_back(s);
    } else {
      if (forwarding_ == depth_) return;  // a send slot frees when a forward is delivered
      reduce::reduceInto(slot(s), in_ + span.offset * element_, span.count, digest_.dtype,
                         digest_.op);
      ++forwarding_;
      send_slot_[sendKey(t + 1, c)] = s;
      sendChunk(t + 1, c, slot(s));
    }
    recv_slot_[key] = kNoSlot;
    --receiving_;
    ++processed_;
  }
}

void ReduceScatterRingOp::onSent(uint32_t step, uint32_t chunk, bool /*ok*/) {
  const uint32_t key = sendKey(step, chunk);
  if (send_slot_[key] == kNoSlot) return;  // step 0: read sendbuf
  free_slots_.push_back(send_slot_[key]);
  send_slot_[key] = kNoSlot;
  --forwarding_;
  process();
}

}  // namespace eccl::coll
