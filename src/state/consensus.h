// The master's decision for one shared-state sync, as a pure function of the
// members' votes: the revision the group moves to, the popular content of each
// entry, who holds it and who must receive it; and how a receiver's missing
// bytes are split across the peers that hold them.
//
// Rules (ecclSyncSharedState in eccl.h says them to users):
//  - every member lists the same entries (name, count, dtype, flags);
//  - the target revision R: that of the SEND_ONLY peers (they must agree), else
//    one more than the group's last sync when a member of that sync takes part,
//    else the most common revision among ENFORCE_POPULAR peers (ties: highest);
//  - a member of the last sync that is not RECEIVE_ONLY must present last + 1;
//  - content votes: the SEND_ONLY peers (they must hold the same bytes), else
//    the ENFORCE_POPULAR peers at R; the most common hash wins, a tie goes to
//    the hash of the lowest-ranked voter;
//  - every member whose hash differs receives the entry; entries that allow
//    unequal content are compared by shape only.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "src/common/endpoint_id.h"
#include "src/common/status.h"
#include "src/protocol/state_messages.h"
#include "src/state/compression.h"

namespace eccl::state {

struct Voter {
  EndpointId peer;
  const protocol::StateVote* vote = nullptr;
  bool synced_last = false;  // took part in the group's last successful sync
};

struct EntryDecision {
  std::string name;
  uint64_t bytes = 0;
  bool compared = true;  // false: unequal content allowed, nothing to send
  protocol::StateHash hash{};
  uint8_t codec = 0;  // transfers of it: 1 = zstd pieces (the first holder's sample says so)
  std::vector<EndpointId> holders;    // voters holding the popular bytes, in rank order
  std::vector<EndpointId> receivers;  // voters that must receive them
};

struct Decision {
  uint64_t revision = 0;
  std::vector<EntryDecision> entries;  // name order
};

// Every voter lists the entries of the first one (names, counts, dtypes,
// flags); else kInvalidUsage naming the entry and the two peers.
Status checkShapes(std::span<const Voter> voters);

// `voters` in rank order; last_revision: the group's last successful sync, if any.
// Errors are kInvalidUsage naming the entry and peers.
// link_bytes_per_s: what the master assumes the peers' links carry (whether
// zstd pays off, state/compression.h).
Result<Decision> decide(std::span<const Voter> voters, std::optional<uint64_t> last_revision,
                        double link_bytes_per_s = kAssumedLinkBytesPerS);

// Bytes a receiver lacks and the peers that may send them (first preferred).
struct Need {
  EndpointId receiver;
  uint32_t entry = 0;
  uint64_t offset = 0;
  uint64_t bytes = 0;
  std::vector<EndpointId> sources;
  uint8_t codec = 0;
};

struct SplitOptions {
  uint64_t min_range_bytes = uint64_t{1} << 20;  // smaller needs come from one source
  uint32_t max_sources = 8;
  uint64_t alignment = 4096;
};

// Cuts each need into up to max_sources ranges, one per source, numbering the
// transfers from next_id on (advanced past the last one used).
std::vector<protocol::StateTransfer> splitNeeds(std::span<const Need> needs, uint32_t& next_id,
                                                const SplitOptions& options = {});

}  // namespace eccl::state
