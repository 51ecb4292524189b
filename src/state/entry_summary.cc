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

std::vector<std::pair<const protocol::StateExpectation*, Hash128>> rehashArrived(
    const std::vector<protocol::StateExpectation>& expected, const std::set<uint32_t>& incomplete,
    const std::vector<const Entry*>& entries) {
  std::vector<const protocol::StateExpectation*> arrived;
  std::vector<std::span<const uint8_t>> buffers;
  for (const auto& expectation : expected) {
    if (expectation.entry < entries.size() && incomplete.count(expectation.entry) == 0) {
      arrived.push_back(&expectation);
      buffers.push_back(entries[expectation.entry]->span());
    }
  }
  const auto hashes = contentHashes(buffers);
  std::vector<std::pair<const protocol::StateExpectation*, Hash128>> out;
  out.reserve(arrived.size());
  for (size_t i = 0; i < arrived.size(); ++i)
    out.emplace_back(arrived[i], hashes[i]);
  return out;
}

}  // namespace eccl::state
