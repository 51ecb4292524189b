#include "src/state/consensus.h"

#include <algorithm>
#include <map>

#include "src/protocol/messages.h"
#include "src/reduce/reduce.h"
#include "src/state/compression.h"
#include "src/state/shared_state.h"

namespace eccl::state {

using protocol::StateEntrySummary;

namespace {

SyncStrategy strategyOf(const Voter& voter) {
  return static_cast<SyncStrategy>(voter.vote->strategy);
}

std::string peerName(const EndpointId& id) {
  return "peer " + id.shortHex();
}

std::string shape(const StateEntrySummary& e) {
  return std::to_string(e.count) + " x " + reduce::dtypeName(static_cast<reduce::DType>(e.dtype)) +
         ((e.flags & protocol::kStateFlagAllowInequality) ? " (unequal content allowed)" : "");
}

}  // namespace

Status checkShapes(std::span<const Voter> voters) {
  const Voter& first = voters.front();
  const auto& reference = first.vote->entries;
  for (const Voter& voter : voters.subspan(1)) {
    const auto& entries = voter.vote->entries;
    size_t i = 0, j = 0;
    while (i < reference.size() || j < entries.size()) {
      if (j == entries.size() || (i < reference.size() && reference[i].name < entries[j].name)) {
        return invalidUsage("shared state entry '" + reference[i].name + "' is on " +
                            peerName(first.peer) + " but not on " + peerName(voter.peer));
      }
      if (i == reference.size() || entries[j].name < reference[i].name) {
        return invalidUsage("shared state entry '" + entries[j].name + "' is on " +
                            peerName(voter.peer) + " but not on " + peerName(first.peer));
      }
      const StateEntrySummary& a = reference[i];
      const StateEntrySummary& b = entries[j];
      if (a.count != b.count || a.dtype != b.dtype || a.flags != b.flags) {
        return invalidUsage("shared state entry '" + a.name + "' is " + shape(a) + " on " +
                            peerName(first.peer) + " but " + shape(b) + " on " +
                            peerName(voter.peer));
      }
      ++i;
      ++j;
    }
  }
  return Status::ok();
}

namespace {

Result<uint64_t> targetRevision(std::span<const Voter> voters,
                                std::optional<uint64_t> last_revision) {
  const Voter* send_only = nullptr;
  bool continuing = false;
  std::map<uint64_t, size_t> counts;  // ENFORCE_POPULAR revisions
  for (const Voter& voter : voters) {
    const SyncStrategy strategy = strategyOf(voter);
    const uint64_t revision = voter.vote->state_revision;
    if (strategy == SyncStrategy::kSendOnly) {
      if (send_only != nullptr && send_only->vote->state_revision != revision) {
        return invalidUsage(
            "SEND_ONLY peers disagree on the revision: " + peerName(send_only->peer) +
            " presents " + std::to_string(send_only->vote->state_revision) + ", " +
            peerName(voter.peer) + " presents " + std::to_string(revision));
      }
      if (send_only == nullptr) send_only = &voter;
    }
    if (strategy == SyncStrategy::kEnforcePopular) ++counts[revision];
    if (strategy != SyncStrategy::kReceiveOnly && voter.synced_last) continuing = true;
  }
  if (send_only != nullptr) return send_only->vote->state_revision;
  if (continuing && last_revision) return *last_revision + 1;
  if (counts.empty()) {
    return invalidUsage("every peer syncs RECEIVE_ONLY: no peer holds the shared state to send");
  }
  auto best = counts.begin();
  for (auto it = counts.begin(); it != counts.end(); ++it) {
    if (it->second >= best->second) best = it;  // ties: the highest revision
  }
  return best->first;
}

// A member of the last sync moves by exactly one unless it receives.
Status checkRevisionSteps(std::span<const Voter> voters, std::optional<uint64_t> last_revision) {
  if (!last_revision) return Status::ok();
  for (const Voter& voter : voters) {
    if (!voter.synced_last || strategyOf(voter) == SyncStrategy::kReceiveOnly) continue;
    if (voter.vote->state_revision != *last_revision + 1) {
      return invalidUsage(peerName(voter.peer) + " presents shared state revision " +
                          std::to_string(voter.vote->state_revision) +
                          "; after the group's sync at " + std::to_string(*last_revision) +
                          " it must present " + std::to_string(*last_revision + 1) +
                          " (one more per sync) or sync RECEIVE_ONLY");
    }
  }
  return Status::ok();
}

}  // namespace

Result<Decision> decide(std::span<const Voter> voters, std::optional<uint64_t> last_revision,
                        double link_bytes_per_s) {
  if (voters.empty()) return invalidUsage("a shared state sync needs at least one peer");
  if (Status shapes = checkShapes(voters); !shapes.isOk()) return shapes;
  if (Status steps = checkRevisionSteps(voters, last_revision); !steps.isOk()) return steps;
  auto revision = targetRevision(voters, last_revision);
  if (!revision) return revision.status();

  // Whose content counts: the SEND_ONLY peers, else the ENFORCE_POPULAR ones at R.
  std::vector<const Voter*> counted;
  for (const Voter& voter : voters) {
    if (strategyOf(voter) == SyncStrategy::kSendOnly) counted.push_back(&voter);
  }
  const bool authoritative = !counted.empty();
  if (!authoritative) {
    for (const Voter& voter : voters) {
      if (strategyOf(voter) == SyncStrategy::kEnforcePopular &&
          voter.vote->state_revision == *revision) {
        counted.push_back(&voter);
      }
    }
  }
  if (counted.empty()) {
    return invalidUsage("no ENFORCE_POPULAR peer is at shared state revision " +
                        std::to_string(*revision));
  }

  Decision decision;
  decision.revision = *revision;
  const auto& reference = voters.front().vote->entries;
  for (size_t e = 0; e < reference.size(); ++e) {
    const StateEntrySummary& entry = reference[e];
    EntryDecision out;
    out.name = entry.name;
    // Every member agreed on the count; it must still describe memory a transfer can address.
    const size_t size = reduce::dtypeSize(static_cast<reduce::DType>(entry.dtype));
    if (entry.count > protocol::ChunkHeader::kMaxMessageBytes / size) {
      return invalidUsage("shared state entry '" + entry.name + "' has " +
                          std::to_string(entry.count) +
                          " elements: more bytes than a transfer "
                          "can carry (2^48)");
    }
    out.bytes = entry.count * size;
    out.compared = (entry.flags & protocol::kStateFlagAllowInequality) == 0;
    if (out.compared) {
      // Most votes win; on a tie the earlier voter's hash (counted is in rank order).
      std::vector<std::pair<protocol::StateHash, size_t>> tally;
      for (const Voter* voter : counted) {
        const auto& hash = voter->vote->entries[e].hash;
        auto it =
            std::find_if(tally.begin(), tally.end(), [&](auto& t) { return t.first == hash; });
        if (it == tally.end()) {
          tally.emplace_back(hash, 1);
        } else {
          ++it->second;
        }
      }
      if (authoritative && tally.size() > 1) {
        const Voter* other = *std::find_if(counted.begin(), counted.end(), [&](const Voter* v) {
          return v->vote->entries[e].hash != tally.front().first;
        });
        return invalidUsage("SEND_ONLY peers " + peerName(counted.front()->peer) + " and " +
                            peerName(other->peer) + " hold different content of entry '" +
                            entry.name + "'");
      }
      auto best = tally.begin();
      for (auto it = tally.begin(); it != tally.end(); ++it) {
        if (it->second > best->second) best = it;
      }
      out.hash = best->first;
      for (const Voter& voter : voters) {
        (voter.vote->entries[e].hash == out.hash ? out.holders : out.receivers)
            .push_back(voter.peer);
      }
      // The holders hold the same bytes: the first one's sample speaks for all.
      const auto& sample = std::find_if(voters.begin(), voters.end(), [&](const Voter& v) {
                             return v.peer == out.holders.front();
                           })->vote->entries[e];
      out.codec =
          worthCompressing({sample.zstd_permille, sample.zstd_mbps}, link_bytes_per_s) ? 1 : 0;
    }
    decision.entries.push_back(std::move(out));
  }
  return decision;
}

std::vector<protocol::StateTransfer> splitNeeds(std::span<const Need> needs, uint32_t& next_id,
                                                const SplitOptions& options) {
  std::vector<protocol::StateTransfer> transfers;
  for (const Need& need : needs) {
    if (need.bytes == 0 || need.sources.empty()) continue;
    const uint64_t by_size = std::max<uint64_t>(1, need.bytes / options.min_range_bytes);
    const uint64_t ranges = std::min<uint64_t>(
        {by_size, need.sources.size(), std::max<uint32_t>(1, options.max_sources)});
    // Equal ranges on alignment boundaries; the last takes the rest.
    uint64_t step = need.bytes / ranges;
    step = std::max<uint64_t>(options.alignment, step / options.alignment * options.alignment);
    uint64_t offset = 0;
    for (uint64_t r = 0; r < ranges && offset < need.bytes; ++r) {
      const uint64_t bytes =
          r + 1 == ranges ? need.bytes - offset : std::min(step, need.bytes - offset);
      protocol::StateTransfer t;
      t.id = next_id++;
      t.entry = need.entry;
      t.offset = need.offset + offset;
      t.bytes = bytes;
      t.from = need.sources[r];
      t.to = need.receiver;
      t.codec = need.codec;
      transfers.push_back(t);
      offset += bytes;
    }
  }
  return transfers;
}

}  // namespace eccl::state
