// The state workload's tensors (--state-size): `entries` f32 entries that an
// original peer fills from a seed (so every original peer holds the same
// bytes) and a joiner (--state-receive) leaves zero until its first sync.
#pragma once

#include <cstdint>
#include <vector>

#include "src/state/shared_state.h"

namespace eccl::tools::peer {

class SharedTensors {
 public:
  SharedTensors(uint64_t bytes, uint32_t entries, uint64_t seed, bool zero);

  state::SharedState& state() { return state_; }
  // XXH3-64 over the entries' content hashes (state/content_hash.h).
  uint64_t hash() const;

 private:
  std::vector<std::vector<float>> memory_;
  state::SharedState state_;
};

}  // namespace eccl::tools::peer
