#include "tools/eccl-peer/input_pattern.h"

namespace eccl::tools::peer {
namespace {

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

}  // namespace

InputPattern::InputPattern(uint64_t seed, uint64_t revision, int world_size)
    : seed_(seed),
      op_salt_(static_cast<uint32_t>(splitmix64(seed ^ splitmix64(revision)))),
      world_size_(world_size) {}

void InputPattern::fill(std::span<float> data, int rank) const {
  for (uint64_t i = 0; i < data.size(); ++i)
    data[i] = value(rank, i);
}

}  // namespace eccl::tools::peer
