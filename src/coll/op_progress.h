// How far a running collective got, readable from any thread while it runs:
// the flight recorder (src/anomaly/flight_recorder.h) shows it when a hang is
// diagnosed. The op's own thread writes it; relaxed atomics, since a reader
// only wants a recent picture, not a consistent one.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace eccl::coll {

enum class OpPhase : uint8_t {
  kQueued = 0,      // submitted, waiting for its turn in the op queue
  kHeaders = 1,     // exchanging op headers with its neighbours (the digest check)
  kData = 2,        // moving data
  kCompletion = 3,  // data complete here; agreeing on the outcome with the ring
  kDone = 4,        // returned (see the status)
};

// "queued", "headers", "data", "completion", "done".
const char* opPhaseName(OpPhase phase);

struct OpProgress {
  std::atomic<OpPhase> phase{OpPhase::kQueued};
  std::atomic<uint64_t> bytes_sent{0};      // payload delivered to the next peer (or partners)
  std::atomic<uint64_t> bytes_received{0};  // payload received from the previous peer
  // Time the op's thread was blocked until a transfer with that neighbour
  // completed: a straggling or hung neighbour shows as a large wait on it.
  std::atomic<uint64_t> wait_prev_ns{0};
  std::atomic<uint64_t> wait_next_ns{0};

  void setPhase(OpPhase p) { phase.store(p, std::memory_order_relaxed); }
  void addSent(uint64_t bytes) { bytes_sent.fetch_add(bytes, std::memory_order_relaxed); }
  void addReceived(uint64_t bytes) { bytes_received.fetch_add(bytes, std::memory_order_relaxed); }
  void addWait(bool on_prev, std::chrono::nanoseconds waited) {
    (on_prev ? wait_prev_ns : wait_next_ns)
        .fetch_add(static_cast<uint64_t>(waited.count()), std::memory_order_relaxed);
  }
};

}  // namespace eccl::coll
