// What the channel must do after a state change of its send queue or receive
// table: callbacks to run (after the lock is released) and frames to send.
#pragma once

#include <functional>
#include <utility>
#include <vector>

#include "src/protocol/messages.h"

namespace eccl::transport::tcp {

struct Effects {
  std::vector<std::function<void()>> callbacks;
  std::vector<protocol::Credit> credits;
  std::vector<protocol::StreamError> stream_errors;
  std::vector<uint64_t> delivered;  // message numbers received in full
  uint64_t pool_credit = 0;         // bytes of the peer's eager budget to return
  // Reads to stop writing into a receive buffer: {connection index, read token}.
  std::vector<std::pair<int, uint64_t>> reads_to_drop;

  bool hasFrames() const {
    return !credits.empty() || !stream_errors.empty() || !delivered.empty() || pool_credit > 0;
  }
  void runCallbacks() {
    for (auto& callback : callbacks)
      callback();
    callbacks.clear();
  }
};

// Every eager chunk costs its receiver's pool at least this much (headers,
// bookkeeping), so that empty chunks cannot pile up for free.
inline constexpr uint64_t kMinPoolCharge = 64;
inline uint64_t poolCharge(uint64_t length) {
  return length < kMinPoolCharge ? kMinPoolCharge : length;
}

// Chunks of a message of `total` bytes cut at chunk_bytes; an empty message is one empty chunk.
inline uint64_t chunkCount(uint64_t total, uint32_t chunk_bytes) {
  return total == 0 ? 1 : (total + chunk_bytes - 1) / chunk_bytes;
}

}  // namespace eccl::transport::tcp
