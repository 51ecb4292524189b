#include "src/coll/block_counts.h"

#include <limits>
#include <string>

namespace eccl::coll {

Result<size_t> checkBlockCounts(const char* what, std::span<const size_t> counts,
                                uint32_t world_size, size_t element) {
  if (counts.size() != world_size) {
    return invalidArgument(std::string(what) + ": " + std::to_string(counts.size()) +
                           " counts for a ring of " + std::to_string(world_size) +
                           " peers (one per rank)");
  }
  size_t total = 0;
  for (size_t count : counts) {
    if (count > std::numeric_limits<size_t>::max() - total) {
      return invalidArgument(std::string(what) + ": the sum of the counts overflows");
    }
    total += count;
  }
  if (total > std::numeric_limits<size_t>::max() / element) {
    return invalidArgument(std::string(what) + ": the sum of the counts, " + std::to_string(total) +
                           " elements of " + std::to_string(element) +
                           " bytes, overflows the address space");
  }
  return total;
}

size_t blockOffset(std::span<const size_t> counts, uint32_t rank) {
  size_t offset = 0;
  for (uint32_t r = 0; r < rank; ++r)
    offset += counts[r];
  return offset;
}

std::vector<size_t> equalCounts(uint32_t world_size, size_t count) {
  return std::vector<size_t>(world_size, count);
}

bool rangesOverlap(const void* a, size_t a_bytes, const void* b, size_t b_bytes) {
  if (a_bytes == 0 || b_bytes == 0) return false;
  const auto x = reinterpret_cast<uintptr_t>(a);
  const auto y = reinterpret_cast<uintptr_t>(b);
  return x < y + b_bytes && y < x + a_bytes;
}

}  // namespace eccl::coll
