// The body of an Xxh3Path, included by one file per ISA path, which is
// compiled with that path's flags: xxHash's header, in its inline mode, then
// vectorises for them. Its functions are static (and renamed XXH_INLINE_*),
// so each path's copy stays in its own object and never meets the library's.
// Nothing else is included here, so no inline C++ code compiled for a wider
// ISA can be picked by the linker for callers on the baseline path.
#pragma once

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "src/protocol/xxh3_path.h"

namespace eccl::protocol {
namespace {

XXH3_state_t* asState(void* state) {
  return static_cast<XXH3_state_t*>(state);
}

constexpr Xxh3Path makeXxh3Path(const char* name) {
  return {
      name,
      [](const void* data, size_t size) -> uint64_t { return XXH3_64bits(data, size); },
      []() -> void* { return XXH3_createState(); },
      [](void* state) { XXH3_freeState(asState(state)); },
      [](void* state) { XXH3_64bits_reset(asState(state)); },
      [](void* state, const void* data, size_t size) {
        XXH3_64bits_update(asState(state), data, size);
      },
      [](const void* state) -> uint64_t {
        return XXH3_64bits_digest(static_cast<const XXH3_state_t*>(state));
      },
      [](const void* data, size_t size, uint64_t seed, uint8_t canonical[16]) {
        XXH128_canonical_t out;
        XXH128_canonicalFromHash(&out, XXH3_128bits_withSeed(data, size, seed));
        for (int i = 0; i < 16; ++i)
          canonical[i] = out.digest[i];
      },
  };
}

}  // namespace
}  // namespace eccl::protocol
