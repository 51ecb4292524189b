// The block layout of the V collectives (all-gather, reduce-scatter): one
// count per rank, blocks back to back in rank order.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "src/common/status.h"

namespace eccl::coll {

// The sum of the counts; kInvalidArgument (prefixed with `what`, e.g.
// "allGather") when there is not one count per rank or when the sum or its
// byte size (elements of `element` bytes) overflows.
Result<size_t> checkBlockCounts(const char* what, std::span<const size_t> counts,
                                uint32_t world_size, size_t element);

// Elements before block `rank` (the sum of the counts before it).
size_t blockOffset(std::span<const size_t> counts, uint32_t rank);

// `count` elements for every one of `world_size` ranks: the counts of a plain
// (equal-block) all-gather or reduce-scatter.
std::vector<size_t> equalCounts(uint32_t world_size, size_t count);

// Whether the byte ranges [a, a + a_bytes) and [b, b + b_bytes) overlap.
bool rangesOverlap(const void* a, size_t a_bytes, const void* b, size_t b_bytes);

}  // namespace eccl::coll
