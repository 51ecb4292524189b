#include "src/state/entry_summary.h"

#include "src/state/compression.h"

namespace eccl::state {

std::vector<Hash128> hashEntries(const std::vector<const Entry*>& entries) {
  std::vector<std::span<const uint8_t>> buffers;
  buffers.reserve(entries.size());
  for (const Entry* entry : entries)
    buffers.push_back(entry->span());
  return contentHashes(buffers);
}

std::vector<protocol::StateEntrySummary> summarizeEntries(const std::vector<const Entry*>& entries,
                                                          const std::vector<Hash128>& hashes,
                                                          bool sample_compression) {
  std::vector<protocol::StateEntrySummary> summaries;
  summaries.reserve(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    const Entry& entry = *entries[i];
    protocol::StateEntrySummary summary;
    summary.name = entry.name;
    summary.count = entry.count;
    summary.dtype = static_cast<uint8_t>(entry.dtype);
    summary.flags = entry.allow_content_inequality ? protocol::kStateFlagAllowInequality : 0;
    summary.hash = hashes[i];
    if (sample_compression) {
      const Compressibility sample = sampleCompressibility(entry.span());
      summary.zstd_permille = sample.permille;
      summary.zstd_mbps = sample.mbps;
    }
    summaries.push_back(std::move(summary));
  }
  return summaries;
}

}  // namespace eccl::state
