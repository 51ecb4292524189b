#include "tools/eccl-bench/pattern.h"

#include <cstring>

namespace eccl::tools::bench {
namespace {

// A bijection of (index + seed): distinct words within a buffer, and a
// different word at every position for a different seed.
inline uint64_t patternWord(uint64_t index, uint64_t seed) {
  uint64_t x = (index + seed) * 0x9E3779B97F4A7C15ull;
  return x ^ (x >> 29);
}

}  // namespace

uint64_t iterationSeed(uint64_t run_seed, uint64_t iteration) {
  uint64_t z = run_seed + (iteration + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

void fillPattern(std::span<uint8_t> buffer, uint64_t seed) {
  const size_t words = buffer.size() / 8;
  uint8_t* out = buffer.data();
  for (size_t i = 0; i < words; ++i) {
    const uint64_t word = patternWord(i, seed);
    std::memcpy(out + i * 8, &word, 8);
  }
  if (const size_t tail = buffer.size() % 8; tail != 0) {
    const uint64_t word = patternWord(words, seed);
    std::memcpy(out + words * 8, &word, tail);
  }
}

std::optional<PatternMismatch> checkPattern(std::span<const uint8_t> buffer, uint64_t seed) {
  const size_t words = buffer.size() / 8;
  const uint8_t* in = buffer.data();
  std::optional<PatternMismatch> mismatch;
  auto compareWord = [&](size_t index, size_t length) {
    const uint64_t expected_word = patternWord(index, seed);
    uint64_t actual_word = 0;
    std::memcpy(&actual_word, in + index * 8, length);
    if (std::memcmp(&actual_word, &expected_word, length) == 0) return;
    if (!mismatch) {
      uint8_t expected[8], actual[8];
      std::memcpy(expected, &expected_word, 8);
      std::memcpy(actual, &actual_word, 8);
      size_t byte = 0;
      while (expected[byte] == actual[byte])
        ++byte;
      mismatch = PatternMismatch{index * 8 + byte, expected[byte], actual[byte], 0};
    }
    ++mismatch->bad_words;
  };
  for (size_t i = 0; i < words; ++i) {
    // Fast path: a plain comparison the compiler vectorises; details only on a miss.
    uint64_t actual_word;
    std::memcpy(&actual_word, in + i * 8, 8);
    if (actual_word != patternWord(i, seed)) compareWord(i, 8);
  }
  if (const size_t tail = buffer.size() % 8; tail != 0) compareWord(words, tail);
  return mismatch;
}

}  // namespace eccl::tools::bench
