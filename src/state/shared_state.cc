#include "src/state/shared_state.h"

#include <algorithm>
#include <limits>

namespace eccl::state {

const char* strategyName(SyncStrategy strategy) {
  switch (strategy) {
    case SyncStrategy::kEnforcePopular:
      return "ENFORCE_POPULAR";
    case SyncStrategy::kSendOnly:
      return "SEND_ONLY";
    case SyncStrategy::kReceiveOnly:
      return "RECEIVE_ONLY";
  }
  return "unknown";
}

std::vector<const Entry*> entriesByName(const SharedState& state) {
  std::vector<const Entry*> sorted;
  sorted.reserve(state.entries.size());
  for (const Entry& entry : state.entries)
    sorted.push_back(&entry);
  std::sort(sorted.begin(), sorted.end(),
            [](const Entry* a, const Entry* b) { return a->name < b->name; });
  return sorted;
}

Status validateState(const SharedState& state) {
  if (state.entries.size() > kMaxEntries) {
    return invalidArgument("shared state has " + std::to_string(state.entries.size()) +
                           " entries, limit " + std::to_string(kMaxEntries));
  }
  for (const Entry& entry : state.entries) {
    if (entry.name.empty() || entry.name.size() > kMaxEntryName) {
      return invalidArgument("shared state entry names must be 1.." +
                             std::to_string(kMaxEntryName) + " bytes");
    }
    if (static_cast<uint8_t>(entry.dtype) >= reduce::kNumDTypes) {
      return invalidArgument("shared state entry '" + entry.name + "' has an unknown dtype");
    }
    const size_t size = reduce::dtypeSize(entry.dtype);
    if (entry.count > std::numeric_limits<size_t>::max() / size) {
      return invalidArgument("shared state entry '" + entry.name + "' is too large");
    }
    if (entry.data == nullptr && entry.count > 0) {
      return invalidArgument("shared state entry '" + entry.name + "' has a NULL pointer");
    }
  }
  auto sorted = entriesByName(state);
  for (size_t i = 1; i < sorted.size(); ++i) {
    if (sorted[i - 1]->name == sorted[i]->name) {
      return invalidArgument("shared state entry '" + sorted[i]->name + "' appears twice");
    }
  }
  // Overlapping entries would be written by one transfer and hashed by another.
  std::vector<std::pair<uintptr_t, size_t>> ranges;
  for (const Entry& entry : state.entries) {
    if (entry.bytes() > 0)
      ranges.emplace_back(reinterpret_cast<uintptr_t>(entry.data), entry.bytes());
  }
  std::sort(ranges.begin(), ranges.end());
  for (size_t i = 1; i < ranges.size(); ++i) {
    if (ranges[i - 1].first + ranges[i - 1].second > ranges[i].first) {
      return invalidArgument("shared state entries overlap in memory");
    }
  }
  return Status::ok();
}

}  // namespace eccl::state
