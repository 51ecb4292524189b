// Shared state: the named tensors (weights, optimizer state, a step counter)
// that must be identical on every peer of a group, and a revision number that
// moves by one per synchronisation. ecclSyncSharedState() agrees on them
// (src/comm/comm_state_sync.cc); the master picks the popular copy of each
// entry (consensus.h) and peers that differ fetch it from peers that hold it.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "src/common/status.h"
#include "src/reduce/reduce.h"

namespace eccl::state {

inline constexpr size_t kMaxEntries = 4096;
inline constexpr size_t kMaxEntryName = 255;

enum class SyncStrategy : uint8_t {
  kEnforcePopular = 0,  // take the popular copy of every entry that differs
  kSendOnly = 1,        // this copy is authoritative (e.g. a checkpoint was loaded)
  kReceiveOnly = 2,     // a fresh joiner: its content never counts, any revision
};
inline constexpr uint8_t kMaxStrategy = 2;

const char* strategyName(SyncStrategy strategy);

struct Entry {
  std::string name;  // unique in the state, 1..kMaxEntryName bytes
  void* data = nullptr;
  size_t count = 0;  // elements
  reduce::DType dtype = reduce::DType::kU8;
  // Peers may hold different content (e.g. a per-peer RNG state): only the
  // name, count and dtype must agree; nothing is sent.
  bool allow_content_inequality = false;

  size_t bytes() const { return count * reduce::dtypeSize(dtype); }
  std::span<uint8_t> span() const { return {static_cast<uint8_t*>(data), bytes()}; }
};

struct SharedState {
  uint64_t revision = 0;
  std::vector<Entry> entries;
};

struct SyncInfo {
  uint64_t bytes_sent = 0;  // entry bytes this peer served
  uint64_t bytes_received = 0;
  // What crossed the wire for those bytes: less where transfers were compressed.
  uint64_t wire_bytes_sent = 0;
  uint64_t wire_bytes_received = 0;
  uint32_t entries_fixed = 0;  // entries this peer received
  uint32_t rounds = 0;         // transfer rounds (more than 1 after a failed source)
  uint64_t revision = 0;       // the revision the group synced to
  std::chrono::nanoseconds wall_time{0};
};

// Names present, unique and short enough, counts that fit in memory, non-null
// data for non-empty entries, no overlap between entries.
Status validateState(const SharedState& state);

// The entries in name order: the order the master's plan numbers them in.
std::vector<const Entry*> entriesByName(const SharedState& state);

}  // namespace eccl::state
