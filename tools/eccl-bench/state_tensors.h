// The shared state the state benchmarks move: f32 entries whose content is
// the same on every holder, incompressible, or with sparse mostly zeros.
#pragma once

#include <cstdint>
#include <vector>

#include "src/state/shared_state.h"

namespace eccl::tools::bench {

// Entry e, element i of the holders' copy.
float holderValue(uint32_t e, uint64_t i, bool sparse);

class BenchState {
 public:
  // `bytes` split into `entries` f32 entries "entry.0"...; zeros, or the holders' copy.
  BenchState(uint64_t bytes, uint32_t entries, bool zero, bool sparse);
  void zero();
  bool holdsHolderBytes() const;
  std::vector<float>& entry(size_t e) { return memory_[e]; }
  state::SharedState& state() { return state_; }

 private:
  std::vector<std::vector<float>> memory_;
  state::SharedState state_;
  bool sparse_;
};

}  // namespace eccl::tools::bench
