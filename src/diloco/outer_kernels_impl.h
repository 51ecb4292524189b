// The kernels' loops, written so that the compiler vectorises them for the
// ISA of the file that includes this header (outer_kernels_<isa>.cc). Each
// includer gets its own copies (anonymous namespace): an inline function
// shared by files built with different -m flags could be merged by the linker
// into the widest one, and then run on a CPU without those instructions.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include "src/diloco/outer_kernels.h"

namespace eccl::diloco {
namespace {  // NOLINT(google-build-namespaces): see the file comment

struct F32 {
  using T = float;
  static float load(float x) { return x; }
  static float store(float x) { return x; }
};

// bf16 <-> f32 as reduce::bf16ToF32 / reduce::f32ToBf16 (src/reduce/half.h):
// round to nearest even, NaNs kept quiet. Tests hold the two equal.
struct Bf16 {
  using T = uint16_t;
  static float load(uint16_t h) { return std::bit_cast<float>(static_cast<uint32_t>(h) << 16); }
  static uint16_t store(float f) {
    const uint32_t x = std::bit_cast<uint32_t>(f);
    const auto rounded = static_cast<uint16_t>((x + 0x7FFFu + ((x >> 16) & 1u)) >> 16);
    const auto quiet = static_cast<uint16_t>((x >> 16) | 0x0040u);
    return (x & 0x7FFFFFFFu) > 0x7F800000u ? quiet : rounded;
  }
};

template <class E>
void packLoop(void* start_v, const void* current_v, void* delta_v, size_t n) {
  using T = typename E::T;
  T* __restrict start = static_cast<T*>(start_v);
  const T* __restrict current = static_cast<const T*>(current_v);
  T* __restrict delta = static_cast<T*>(delta_v);
  for (size_t i = 0; i < n; ++i) {
    delta[i] = E::store(E::load(start[i]) - E::load(current[i]));
    start[i] = current[i];
  }
}

template <class E>
void nesterovLoop(void* global_v, void* momentum_v, const void* sum_v, float weight, float lr,
                  float mu, size_t n) {
  using T = typename E::T;
  T* __restrict global = static_cast<T*>(global_v);
  T* __restrict momentum = static_cast<T*>(momentum_v);
  const T* __restrict sum = static_cast<const T*>(sum_v);
  for (size_t i = 0; i < n; ++i) {
    const float g = E::load(sum[i]) / weight;
    const float m = mu * E::load(momentum[i]) + g;
    momentum[i] = E::store(m);
    // With bf16 the step uses the stored (rounded) momentum, as torch would.
    const float update = g + mu * E::load(momentum[i]);
    global[i] = E::store(E::load(global[i]) - lr * update);
  }
}

template <class E>
void rebaseLoop(const void* global_v, const void* carried_v, void* start_v, void* current_v,
                size_t n) {
  using T = typename E::T;
  const T* __restrict global = static_cast<const T*>(global_v);
  const T* __restrict carried = static_cast<const T*>(carried_v);
  T* __restrict start = static_cast<T*>(start_v);
  T* __restrict current = static_cast<T*>(current_v);
  // Two loops rather than a test per element, so that both vectorise.
  if (carried == nullptr) {
    for (size_t i = 0; i < n; ++i) {
      const float drift = E::load(start[i]) - E::load(current[i]);
      start[i] = global[i];
      current[i] = E::store(E::load(global[i]) - drift);
    }
    return;
  }
  for (size_t i = 0; i < n; ++i) {
    const float drift = E::load(start[i]) - E::load(current[i]);
    const T base = E::store(E::load(global[i]) - E::load(carried[i]));
    start[i] = base;
    current[i] = E::store(E::load(base) - drift);
  }
}

template <class E>
constexpr OuterKernels kernelsFor() {
  return OuterKernels{&packLoop<E>, &nesterovLoop<E>, &rebaseLoop<E>};
}

// [0] f32, [1] bf16: the order outer_kernels.cc indexes them in.
constexpr OuterKernels kOuterTable[2] = {kernelsFor<F32>(), kernelsFor<Bf16>()};

}  // namespace
}  // namespace eccl::diloco
