// What each rank contributes to the workload's all-reduce, and the exact sum
// every element must then hold. Every value is a multiple of 1/256 below 16
// (12 significant bits), so every sum of up to 4096 ranks is exact in f32
// whatever order the ring adds in, and the check is exact. The fractions
// matter to quantized runs: integers alone would survive an 8-bit wire exactly.
//
// Seed 0: rank r contributes r + 1 everywhere (the cheapest check). Another
// seed: every element differs, by rank, position and the op's revision, so a
// chunk that lands in the wrong place or comes from another op shows up, and
// the result's hash differs from op to op (eccl-stress compares it across peers).
#pragma once

#include <cstdint>
#include <span>

namespace eccl::tools::peer {

class InputPattern {
 public:
  InputPattern(uint64_t seed, uint64_t revision, int world_size);

  void fill(std::span<float> data, int rank) const;
  // The largest |value| any rank contributes (the quantization bound's input).
  double maxAbsInput() const { return seed_ == 0 ? world_size_ : 16.0; }
  // The exact sum of every rank's value at this element. (Inline: the check
  // calls it once per element.)
  float expected(uint64_t index) const {
    if (seed_ == 0) {
      const auto world = static_cast<float>(world_size_);
      return world * (world + 1.0f) / 2.0f;
    }
    float sum = 0;
    for (int rank = 0; rank < world_size_; ++rank)
      sum += value(rank, index);
    return sum;
  }

 private:
  float value(int rank, uint64_t index) const {
    if (seed_ == 0) return static_cast<float>(rank + 1);
    // Odd multipliers spread index and rank over the top bits: 4 bits of
    // integer, 8 of fraction.
    const uint32_t mixed = op_salt_ + static_cast<uint32_t>(index) * 0x9e3779b1u +
                           static_cast<uint32_t>(rank) * 0x85ebca77u;
    return static_cast<float>(mixed >> 20) / 256.0f;
  }

  uint64_t seed_;
  uint32_t op_salt_;  // mixed from the seed and the revision
  int world_size_;
};

}  // namespace eccl::tools::peer
