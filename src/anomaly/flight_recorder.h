// A peer's flight recorder: the collectives it ran lately, the running ones
// included with how far they got, so that a hang or a slow op can be
// diagnosed after the fact (ecclCommGetOpStats, ecclCommDumpState, and a
// dump in the log when an op times out or the process gets SIGUSR1).
//
// Always on and cheap: an op costs one small allocation and three short
// critical sections; its progress (bytes, time waiting for each neighbour)
// is written by the op itself through relaxed atomics (coll::OpProgress).
// Thread-safe.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "src/coll/op_progress.h"
#include "src/common/endpoint_id.h"
#include "src/common/status.h"

namespace eccl::anomaly {

using WallClock = std::chrono::system_clock;

// One op as the recorder saw it.
struct OpRecord {
  static constexpr uint64_t kNotStarted = UINT64_MAX;

  uint64_t sequence = kNotStarted;  // the comm's op number, in start order
  std::string name;                 // "allReduce", "broadcast", ...
  uint64_t tag = 0;
  // The ring it ran on; rank -1 and world 0 when it ended before it had one.
  uint64_t revision = 0;
  int32_t rank = -1;
  uint32_t world_size = 0;
  EndpointId prev;  // the peer it received from (zero: none)
  EndpointId next;  // the peer it sent to (zero: none)
  WallClock::time_point submitted{};
  WallClock::time_point started{};   // epoch while queued
  WallClock::time_point finished{};  // epoch while running
  coll::OpPhase phase = coll::OpPhase::kQueued;
  Status status;  // ok while running
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  std::chrono::nanoseconds wait_prev{0};
  std::chrono::nanoseconds wait_next{0};
  // The neighbour the running op is blocked on now (zero: none) and for how long.
  EndpointId blocked_on;
  std::chrono::nanoseconds blocked_for{0};

  bool running() const { return phase != coll::OpPhase::kDone; }
  // submitted..finished, or ..`now` while running.
  std::chrono::nanoseconds age(WallClock::time_point now) const;
};

// "#12 allReduce tag 3 rev 4 rank 1/4 data, running for 1532 ms: ...": one line per op.
std::string describeOp(const OpRecord& op, WallClock::time_point now);

class FlightRecorder {
 public:
  // An op the recorder follows; the op writes its progress.
  struct Entry {
    coll::OpProgress progress;

   private:
    friend class FlightRecorder;
    OpRecord record;  // guarded by the recorder's mutex
  };

  // Keeps the last `capacity` ops (running ones are never dropped for ended ones).
  explicit FlightRecorder(size_t capacity = 64);

  std::shared_ptr<Entry> submitted(std::string name, uint64_t tag);
  void started(Entry& entry, uint64_t sequence);
  void ranOn(Entry& entry, uint64_t revision, int32_t rank, uint32_t world_size,
             const EndpointId& prev, const EndpointId& next);
  // The first call wins: an op that ended is not ended again. `sent` and
  // `received`: the op's own count of its bytes (coll::OpInfo), for ops that
  // do not report progress as they go.
  void ended(Entry& entry, const Status& status, uint64_t sent = 0, uint64_t received = 0);

  // Oldest first, running ops included with their progress so far.
  std::vector<OpRecord> snapshot() const;
  size_t capacity() const { return capacity_; }

 private:
  static OpRecord read(const Entry& entry);

  const size_t capacity_;
  mutable std::mutex mu_;
  std::deque<std::shared_ptr<Entry>> ops_;
};

}  // namespace eccl::anomaly
