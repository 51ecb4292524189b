#include "tools/eccl-bench/state_tensors.h"

#include <algorithm>
#include <string>

namespace eccl::tools::bench {

float holderValue(uint32_t e, uint64_t i, bool sparse) {
  uint64_t x = (uint64_t{e} << 40 | i) + 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  x ^= x >> 31;
  if (sparse && x % 64 != 0) return 0.0f;
  return static_cast<float>(static_cast<int32_t>(x >> 32) >> 4) + 0.5f;
}

BenchState::BenchState(uint64_t bytes, uint32_t entries, bool zero, bool sparse) : sparse_(sparse) {
  const uint64_t per_entry = bytes / sizeof(float) / entries;
  memory_.resize(entries);
  for (uint32_t e = 0; e < entries; ++e) {
    memory_[e].resize(per_entry);
    if (!zero) {
      for (uint64_t i = 0; i < per_entry; ++i)
        memory_[e][i] = holderValue(e, i, sparse);
    }
    state_.entries.push_back(
        {"entry." + std::to_string(e), memory_[e].data(), per_entry, reduce::DType::kF32, false});
  }
}

void BenchState::zero() {
  for (auto& m : memory_)
    std::fill(m.begin(), m.end(), 0.0f);
}

bool BenchState::holdsHolderBytes() const {
  for (uint32_t e = 0; e < memory_.size(); ++e) {
    for (uint64_t i = 0; i < memory_[e].size(); ++i) {
      if (memory_[e][i] != holderValue(e, i, sparse_)) return false;
    }
  }
  return true;
}

}  // namespace eccl::tools::bench
