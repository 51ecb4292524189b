// XXH3 compiled once per ISA path. Debian's libxxhash is built for baseline
// x86-64 (SSE2); the same header compiled with -mavx2 hashes 2-3x faster, and
// every path gives the same values (the algorithm fixes them, not the vector
// width), so peers on different CPUs agree. activeXxh3Path() is the path
// reduce::activeIsa() names, so ECCL_ISA steers frame checksums and the
// shared-state content hash too.
#pragma once

#include <cstddef>
#include <cstdint>

namespace eccl::protocol {

struct Xxh3Path {
  const char* name;
  uint64_t (*hash)(const void* data, size_t size);
  // Streaming: a state from newState() may be fed by any path (one layout).
  void* (*newState)();
  void (*freeState)(void* state);
  void (*reset)(void* state);
  void (*update)(void* state, const void* data, size_t size);
  uint64_t (*digest)(const void* state);
  // XXH3-128 with a seed, in canonical (big-endian) form.
  void (*hash128)(const void* data, size_t size, uint64_t seed, uint8_t canonical[16]);
};

// The path ECCL_ISA (or reduce::setIsa) names: AVX2 for avx2 and avx512 (an
// AVX-512 build of XXH3 measured no faster: the data comes from memory).
const Xxh3Path& activeXxh3Path();

const Xxh3Path& xxh3BaselinePath();
const Xxh3Path& xxh3Avx2Path();  // x86-64 builds only (ECCL_XXH3_AVX2)

}  // namespace eccl::protocol
