// GCC/Clang vector-extension types and unaligned vector loads and stores, for
// the per-ISA kernel files (src/reduce/, src/quant/).
//
// Include only from kernels_<isa>.cc (through their simd_kernels.h).
// Everything here has internal linkage on purpose: an inline function with
// external linkage compiled with AVX flags could be the copy the linker keeps
// for baseline callers.
#pragma once

#include <cstddef>

namespace eccl::vector_ext {
namespace {  // NOLINT(google-build-namespaces): see the file comment

template <typename T, size_t Bytes>
struct VecOf {
  typedef T type __attribute__((vector_size(Bytes)));
};
template <typename T, size_t Bytes>
using Vec = typename VecOf<T, Bytes>::type;

template <typename V>
inline V loadVec(const unsigned char* p) {
  V v;
  __builtin_memcpy(&v, p, sizeof(V));
  return v;
}

template <typename V>
inline void storeVec(unsigned char* p, V v) {
  __builtin_memcpy(p, &v, sizeof(V));
}

}  // namespace
}  // namespace eccl::vector_ext
