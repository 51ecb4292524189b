// Test patterns for benchmark payloads: every 8-byte word depends on its
// position and on a seed, so a misplaced, stale (previous iteration) or
// missing chunk shows up when the receiver checks every byte.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

namespace eccl::tools::bench {

// A well-mixed seed per iteration from a per-run seed (splitmix64).
uint64_t iterationSeed(uint64_t run_seed, uint64_t iteration);

void fillPattern(std::span<uint8_t> buffer, uint64_t seed);

struct PatternMismatch {
  uint64_t offset = 0;  // first byte that differs
  uint8_t expected = 0;
  uint8_t actual = 0;
  uint64_t bad_words = 0;  // 8-byte words that differ (how much is wrong)
};

// The first difference from fillPattern(seed), or nothing when all bytes match.
std::optional<PatternMismatch> checkPattern(std::span<const uint8_t> buffer, uint64_t seed);

}  // namespace eccl::tools::bench
