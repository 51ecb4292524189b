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
  // Of those waits, the ones for the neighbour's op header: it entered the op
  // after this peer (a straggler shows as lateness to both its neighbours).
  std::atomic<uint64_t> late_prev_ns{0};
  std::atomic<uint64_t> late_next_ns{0};

  // Which neighbour the op's thread is blocked on now (0: none, 1: prev,
  // 2: next) and since when (steady_clock nanoseconds).
  std::atomic<uint8_t> blocked_on{0};
  std::atomic<int64_t> blocked_since_ns{0};

  void setPhase(OpPhase p) { phase.store(p, std::memory_order_relaxed); }
  void block(bool on_prev) {
    blocked_since_ns.store(std::chrono::steady_clock::now().time_since_epoch().count(),
                           std::memory_order_relaxed);
    blocked_on.store(on_prev ? 1 : 2, std::memory_order_relaxed);
  }
  void unblock() { blocked_on.store(0, std::memory_order_relaxed); }
  void addSent(uint64_t bytes) { bytes_sent.fetch_add(bytes, std::memory_order_relaxed); }
  void addReceived(uint64_t bytes) { bytes_received.fetch_add(bytes, std::memory_order_relaxed); }
  void addWait(bool on_prev, std::chrono::nanoseconds waited, bool for_header) {
    const auto ns = static_cast<uint64_t>(waited.count());
    (on_prev ? wait_prev_ns : wait_next_ns).fetch_add(ns, std::memory_order_relaxed);
    if (for_header)
      (on_prev ? late_prev_ns : late_next_ns).fetch_add(ns, std::memory_order_relaxed);
  }
};

}  // namespace eccl::coll
