// The content hash of a shared-state entry: XXH3-128 (AVX2 where the CPU has
// it: src/protocol/xxh3_path.h). Large entries are cut into fixed pieces hashed on several threads,
// and the piece hashes hashed again, so the hash depends on the bytes only,
// never on the number of threads.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace eccl::state {

using Hash128 = std::array<uint8_t, 16>;  // XXH3-128 in canonical (big-endian) form

// Entries up to this size are hashed whole; larger ones piece by piece.
inline constexpr size_t kHashPieceBytes = size_t{8} << 20;

Hash128 contentHash(std::span<const uint8_t> bytes);

// The hashes of several buffers, their pieces spread over up to `threads`
// threads (0: one per hardware thread).
std::vector<Hash128> contentHashes(std::span<const std::span<const uint8_t>> buffers,
                                   unsigned threads = 0);

std::string hashHex(const Hash128& hash);

}  // namespace eccl::state
