// What a peer tells the master about its entries (a sync's vote, a fetch
// request): name, shape and content hash of each, in name order; and the
// check of what it received against the master's expected hashes.
#pragma once

#include <set>
#include <utility>
#include <vector>

#include "src/protocol/state_messages.h"
#include "src/state/content_hash.h"
#include "src/state/shared_state.h"

namespace eccl::state {

// The entries' content hashes (large ones on several threads).
std::vector<Hash128> hashEntries(const std::vector<const Entry*>& entries);

// `entries` and their `hashes` alike ordered; with sample_compression, each
// entry's zstd ratio and speed on a sample (compression.h) for the master's choice.
std::vector<protocol::StateEntrySummary> summarizeEntries(const std::vector<const Entry*>& entries,
                                                          const std::vector<Hash128>& hashes,
                                                          bool sample_compression);

// Received entries hashed again: each expectation whose entry arrived whole
// (not in `incomplete`), with the hash the entry has now.
std::vector<std::pair<const protocol::StateExpectation*, Hash128>> rehashArrived(
    const std::vector<protocol::StateExpectation>& expected, const std::set<uint32_t>& incomplete,
    const std::vector<const Entry*>& entries);

}  // namespace eccl::state
