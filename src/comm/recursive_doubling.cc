#include "src/comm/recursive_doubling.h"

namespace eccl::comm {

std::vector<Exchange> recursiveDoublingPlan(uint32_t world_size, uint32_t rank) {
  uint32_t p = 1;
  uint32_t rounds = 0;
  while (p * 2 <= world_size) {
    p *= 2;
    ++rounds;
  }
  const uint32_t extra = world_size - p;
  std::vector<Exchange> out;
  if (rank >= p) {
    out.push_back({0, rank - p, true, false, false});
    out.push_back({1 + rounds, rank - p, false, true, false});
    return out;
  }
  if (rank < extra) out.push_back({0, rank + p, false, true, true});
  for (uint32_t k = 0; k < rounds; ++k)
    out.push_back({1 + k, rank ^ (1u << k), true, true, true});
  if (rank < extra) out.push_back({1 + rounds, rank + p, true, false, false});
  return out;
}

}  // namespace eccl::comm
