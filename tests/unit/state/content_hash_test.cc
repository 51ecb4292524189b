// The content hash of shared-state entries (content_hash.h): XXH3-128 of the
// bytes up to kHashPieceBytes; above that the piece hashes hashed again with
// the length as seed, the same for every thread count.
#include "src/state/content_hash.h"

#include <gtest/gtest.h>
#include <xxhash.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "src/reduce/reduce.h"

namespace eccl::state {
namespace {

// Bytes that differ from piece to piece, so a swapped piece would show.
std::vector<uint8_t> pattern(size_t bytes, uint32_t seed = 1) {
  std::vector<uint8_t> out(bytes);
  uint32_t x = seed;
  for (auto& b : out) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(x >> 24);
  }
  return out;
}

Hash128 canonicalOf(XXH128_hash_t hash) {
  XXH128_canonical_t canonical;
  XXH128_canonicalFromHash(&canonical, hash);
  Hash128 out;
  std::memcpy(out.data(), canonical.digest, out.size());
  return out;
}

Hash128 referenceWhole(std::span<const uint8_t> bytes) {
  return canonicalOf(XXH3_128bits(bytes.data(), bytes.size()));
}

// The documented piecewise scheme, computed independently of content_hash.cc.
Hash128 referencePieces(std::span<const uint8_t> bytes) {
  std::vector<uint8_t> concatenated;
  for (size_t at = 0; at < bytes.size(); at += kHashPieceBytes) {
    const Hash128 piece =
        referenceWhole(bytes.subspan(at, std::min(kHashPieceBytes, bytes.size() - at)));
    concatenated.insert(concatenated.end(), piece.begin(), piece.end());
  }
  return canonicalOf(XXH3_128bits_withSeed(concatenated.data(), concatenated.size(), bytes.size()));
}

constexpr size_t kLarge = 2 * kHashPieceBytes + 123;  // two whole pieces and a short one

TEST(ContentHash, SmallBufferIsXxh3Of128BitsCanonical) {
  const auto bytes = pattern(1000);
  EXPECT_EQ(contentHash(bytes), referenceWhole(bytes));
  // Canonical form is big-endian: the high 64 bits first.
  const XXH128_hash_t raw = XXH3_128bits(bytes.data(), bytes.size());
  const Hash128 hash = contentHash(bytes);
  uint64_t high = 0;
  for (size_t i = 0; i < 8; ++i)
    high = (high << 8) | hash[i];
  EXPECT_EQ(high, raw.high64);
}

TEST(ContentHash, BufferOfExactlyOnePieceIsHashedWhole) {
  const auto bytes = pattern(kHashPieceBytes);
  EXPECT_EQ(contentHash(bytes), referenceWhole(bytes));
}

TEST(ContentHash, LargeBufferHashesPieceHashesWithLengthAsSeed) {
  const auto bytes = pattern(kLarge);
  const Hash128 hash = contentHash(bytes);
  EXPECT_EQ(hash, referencePieces(bytes));
  EXPECT_NE(hash, referenceWhole(bytes));
}

TEST(ContentHash, OnePieceAndOneByteIsPiecewise) {
  const auto bytes = pattern(kHashPieceBytes + 1);
  EXPECT_EQ(contentHash(bytes), referencePieces(bytes));
}

TEST(ContentHash, ThreadCountDoesNotChangeTheHash) {
  const auto bytes = pattern(kLarge);
  const Hash128 expected = referencePieces(bytes);
  const std::span<const uint8_t> one[] = {bytes};
  for (unsigned threads : {1u, 2u, 7u, 0u}) {
    auto hashes = contentHashes(one, threads);
    ASSERT_EQ(hashes.size(), 1u);
    EXPECT_EQ(hashes[0], expected) << threads << " threads";
  }
}

TEST(ContentHash, OneFlippedBitInAnyPieceChangesTheHash) {
  auto bytes = pattern(kLarge);
  const Hash128 original = contentHash(bytes);
  // The first byte, the last byte of the first piece, the short last piece's last byte.
  for (size_t at : {size_t{0}, kHashPieceBytes - 1, kHashPieceBytes, kLarge - 1}) {
    for (uint8_t bit : {uint8_t{0x01}, uint8_t{0x80}}) {
      bytes[at] ^= bit;
      EXPECT_NE(contentHash(bytes), original) << "byte " << at << " bit " << int{bit};
      bytes[at] ^= bit;
    }
  }
  EXPECT_EQ(contentHash(bytes), original);
}

TEST(ContentHash, OneFlippedBitInASmallBufferChangesTheHash) {
  auto bytes = pattern(4096);
  const Hash128 original = contentHash(bytes);
  bytes[4095] ^= 0x10;
  EXPECT_NE(contentHash(bytes), original);
}

TEST(ContentHash, LengthCountsNotJustPieces) {
  // Same bytes, one trailing zero more: a different hash.
  auto bytes = pattern(kLarge);
  const Hash128 shorter = contentHash(bytes);
  bytes.push_back(0);
  EXPECT_NE(contentHash(bytes), shorter);
}

// Peers on different CPUs (or with ECCL_ISA set) must agree: every ISA path
// this CPU has gives libxxhash's values, whole and piecewise.
TEST(ContentHash, EveryIsaPathGivesTheLibrarysValues) {
  const reduce::Isa before = reduce::activeIsa();
  const auto large = pattern(kLarge, 7);
  for (reduce::Isa isa : {reduce::Isa::kScalar, reduce::Isa::kAvx2, reduce::Isa::kAvx512}) {
    if (isa > reduce::bestSupportedIsa()) continue;
    ASSERT_TRUE(reduce::setIsa(isa).isOk());
    SCOPED_TRACE(reduce::isaName(isa));
    for (size_t size = 0; size <= 260; ++size) {
      const auto bytes = std::span(large).first(size);
      ASSERT_EQ(contentHash(bytes), referenceWhole(bytes)) << size << " bytes";
    }
    EXPECT_EQ(contentHash(large), referencePieces(large));
  }
  ASSERT_TRUE(reduce::setIsa(before).isOk());
}

TEST(ContentHash, EmptyBufferIsXxh3OfNothing) {
  const std::vector<uint8_t> empty;
  EXPECT_EQ(contentHash(empty), canonicalOf(XXH3_128bits(nullptr, 0)));
  const std::span<const uint8_t> none[] = {std::span<const uint8_t>()};
  auto hashes = contentHashes(none, 4);
  ASSERT_EQ(hashes.size(), 1u);
  EXPECT_EQ(hashes[0], canonicalOf(XXH3_128bits(nullptr, 0)));
}

TEST(ContentHash, SeveralBuffersHashLikeEachAlone) {
  const auto small = pattern(777, 2);
  const auto large = pattern(kLarge, 3);
  const std::vector<uint8_t> empty;
  const auto piece = pattern(kHashPieceBytes, 4);
  const auto over = pattern(kHashPieceBytes + 4096, 5);
  const std::span<const uint8_t> buffers[] = {small, large, empty, piece, over, small};
  for (unsigned threads : {1u, 3u, 0u}) {
    auto hashes = contentHashes(buffers, threads);
    ASSERT_EQ(hashes.size(), std::size(buffers));
    for (size_t i = 0; i < std::size(buffers); ++i)
      EXPECT_EQ(hashes[i], contentHash(buffers[i])) << "buffer " << i << ", " << threads;
  }
  EXPECT_EQ(contentHashes(std::span<const std::span<const uint8_t>>(), 2).size(), 0u);
}

TEST(ContentHash, DifferentBuffersHashDifferently) {
  std::set<Hash128> seen;
  for (uint32_t seed = 1; seed <= 16; ++seed)
    seen.insert(contentHash(pattern(64, seed)));
  EXPECT_EQ(seen.size(), 16u);
}

TEST(HashHex, ThirtyTwoLowercaseDigitsInByteOrder) {
  Hash128 hash;
  for (size_t i = 0; i < hash.size(); ++i)
    hash[i] = static_cast<uint8_t>(i * 0x11);
  EXPECT_EQ(hashHex(hash), "00112233445566778899aabbccddeeff");
  hash.fill(0xab);
  EXPECT_EQ(hashHex(hash), "abababababababababababababababab");
  EXPECT_EQ(hashHex(Hash128{}), std::string(32, '0'));
}

TEST(HashHex, OfAContentHashIsItsCanonicalDigest) {
  const auto bytes = pattern(100);
  const XXH128_hash_t raw = XXH3_128bits(bytes.data(), bytes.size());
  char expected[33];
  std::snprintf(expected, sizeof(expected), "%016llx%016llx",
                static_cast<unsigned long long>(raw.high64),
                static_cast<unsigned long long>(raw.low64));
  EXPECT_EQ(hashHex(contentHash(bytes)), expected);
}

}  // namespace
}  // namespace eccl::state
