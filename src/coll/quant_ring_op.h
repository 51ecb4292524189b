// The ring all-reduce with quantized messages (src/quant/quant.h): fewer bytes
// on the wire, and the same result bytes on every peer.
//
// Reduce-scatter: each hop quantizes the partial sum it forwards, the next peer
// decodes it and adds its own data in the full type (quant::decodeReduce).
// After the last reducing step the owner of a segment quantizes each final
// chunk once, decodes those bytes into its own buffer, and sends them on; every
// other peer decodes the same bytes and forwards them unchanged. So every
// peer's result is the decoding of one set of bytes, bit for bit equal
// everywhere, and within quant::ringErrorBound of the exact reduction.
//
// Memory beyond the caller's buffer: one wire slot (a chunk's encoded size)
// per message in flight, reused: receives in flight are bounded by
// pipeline_depth, the sends of step 0 by the chunks of one segment.
#pragma once

#include <memory>
#include <unordered_map>
#include <vector>

#include "src/coll/recv_cursor.h"
#include "src/coll/ring_op.h"
#include "src/quant/quant.h"

namespace eccl::coll {

class QuantRingOp final : public RingOp {
 public:
  // As BufferRingOp for an all-reduce plan: `buffer` holds this rank's data
  // before run() and the result after. digest.quant is the (validated) config.
  QuantRingOp(const RingView& ring, const RingPlan& plan, const CollOptions& options,
              Clock::time_point deadline, OpState& state, const OpDigest& digest, std::string name,
              uint8_t* buffer);

 private:
  void startData() override;
  void postReceives() override;
  void onReceived(uint32_t step, uint32_t chunk, bool usable) override;
  void onSent(uint32_t step, uint32_t chunk, bool ok) override;
  size_t wireBytes(Span span) const override;

  uint32_t takeSlot();
  uint8_t* slot(uint32_t index) { return slots_[index].get(); }
  // Sends chunk c of the step from a slot that the send owns until it ends.
  void sendSlot(uint32_t step, uint32_t chunk, uint32_t index);
  // Quantizes chunk c of the step's send segment from the buffer and sends it.
  void encodeAndSend(uint32_t step, uint32_t chunk);

  uint8_t* const buf_;
  const quant::QuantConfig config_;
  size_t slot_bytes_ = 0;
  RecvCursor cursor_{plan_};
  uint32_t recvs_in_flight_ = 0;
  std::vector<std::unique_ptr<uint8_t[]>> slots_;
  std::vector<uint32_t> free_slots_;
  std::unordered_map<uint64_t, uint32_t> recv_slot_;  // (step, chunk) -> slot
  std::unordered_map<uint64_t, uint32_t> send_slot_;
};

}  // namespace eccl::coll
