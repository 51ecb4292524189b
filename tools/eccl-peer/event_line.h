// The lines eccl-peer prints: one per membership event and per topology change,
// human-readable or (--json) one JSON object per line for tests and scripts.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace eccl::tools::peer {

struct EventLine {
  // steady_clock (CLOCK_MONOTONIC) in ns: the same clock in every process of a
  // machine, so that a test can compare a line's time with its own.
  int64_t t_ns = 0;
  std::string event;  // admitted|topology|joined|left|lost|evicted
  std::string peer;   // hex id: this peer for admitted/topology, else the peer the event names
  int rank = -1;      // this peer's rank and world size when the line is printed
  int world_size = 0;
  uint64_t revision = 0;  // the topology's, or the group's when the event happened
};

// Without a trailing newline.
std::string formatEventLine(const EventLine& line, bool json);

// One step of the all-reduce workload (--allreduce-size), checked exactly.
struct StepLine {
  int64_t t_ns = 0;
  uint64_t step = 0;
  int rank = -1;
  int world_size = 0;
  uint64_t revision = 0;  // the op's: its rank, world size and revision are read before it runs
  uint64_t bytes = 0;
  double seconds = 0;
  double busbw_gbs = 0;
  // XXH3-64 of the result, for comparing peers (printed as 16 hex digits).
  std::optional<uint64_t> hash;
  // A failed op (or a wrong result) prints the code's name and the message
  // instead of bytes, seconds and busbw: {"ok": false, "code", "error"}.
  bool ok = true;
  std::string code;
  std::string error;
};

// Without a trailing newline.
std::string formatStepLine(const StepLine& line, bool json);

// One shared-state sync of the state workload (--state-size).
struct StateLine {
  int64_t t_ns = 0;
  uint64_t step = 0;
  uint64_t revision = 0;  // the state's after the sync
  std::string strategy;   // ENFORCE_POPULAR or RECEIVE_ONLY
  // XXH3-64 over the entries' content hashes: equal on every peer after a sync.
  uint64_t hash = 0;
  uint64_t bytes_received = 0;
  uint64_t bytes_sent = 0;
  uint32_t entries_fixed = 0;
  uint32_t rounds = 0;
  double seconds = 0;
  bool ok = true;
  std::string code;
  std::string error;
};

std::string formatStateLine(const StateLine& line, bool json);

}  // namespace eccl::tools::peer
