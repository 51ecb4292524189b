// Element i of a buffer of T at any alignment, through memcpy: the scalar
// kernels' loads and stores (src/reduce/, src/quant/).
//
// Not for the vector translation units: an inline function compiled there with
// AVX flags could be the copy the linker keeps for baseline callers.
#pragma once

#include <cstddef>
#include <cstring>

namespace eccl::unaligned {

template <typename T>
T load(const void* base, size_t i) {
  T v;
  std::memcpy(&v, static_cast<const unsigned char*>(base) + i * sizeof(T), sizeof(T));
  return v;
}

template <typename T>
void store(void* base, size_t i, T v) {
  std::memcpy(static_cast<unsigned char*>(base) + i * sizeof(T), &v, sizeof(T));
}

}  // namespace eccl::unaligned
