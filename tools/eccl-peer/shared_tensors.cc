#include "tools/eccl-peer/shared_tensors.h"

#include <xxhash.h>

#include <string>

#include "src/state/content_hash.h"

namespace eccl::tools::peer {

SharedTensors::SharedTensors(uint64_t bytes, uint32_t entries, uint64_t seed, bool zero) {
  const uint64_t per_entry = bytes / sizeof(float) / entries;
  memory_.resize(entries);
  for (uint32_t e = 0; e < entries; ++e) {
    auto& memory = memory_[e];
    // The last entry takes what does not divide evenly.
    memory.assign(e + 1 == entries ? bytes / sizeof(float) - per_entry * (entries - 1) : per_entry,
                  0.0f);
    if (!zero) {
      uint64_t x = (seed + 1) * 0x9E3779B97F4A7C15ull + e;
      for (float& value : memory) {
        x = x * 6364136223846793005ull + 1442695040888963407ull;
        value = static_cast<float>(static_cast<int32_t>(x >> 40)) / 1024.0f;
      }
    }
    state_.entries.push_back(
        {"tensor." + std::to_string(e), memory.data(), memory.size(), reduce::DType::kF32, false});
  }
}

uint64_t SharedTensors::hash() const {
  std::vector<std::span<const uint8_t>> buffers;
  for (const auto& entry : state_.entries)
    buffers.push_back(entry.span());
  const auto hashes = state::contentHashes(buffers);
  return XXH3_64bits(hashes.data(), hashes.size() * sizeof(state::Hash128));
}

}  // namespace eccl::tools::peer
