// Element buffers for the kernel tests: raw element bits placed at a chosen
// misalignment inside guard bytes, so that tails and overruns show up.
#pragma once

#include <cstdint>
#include <cstring>
#include <random>
#include <vector>

#include "src/reduce/reduce.h"

namespace eccl::reduce::testing {

class GuardedBuffer {
 public:
  static constexpr size_t kGuard = 64;
  static constexpr unsigned char kFill = 0xA5;

  // offset: bytes past a 64-byte boundary where element 0 starts.
  GuardedBuffer(const std::vector<uint64_t>& elems, DType dtype, size_t offset)
      : size_(dtypeSize(dtype)), bytes_(2 * kGuard + 64 + offset + elems.size() * size_, kFill) {
    const auto base = reinterpret_cast<uintptr_t>(bytes_.data()) + kGuard;
    start_ = (base + 63) / 64 * 64 + offset - reinterpret_cast<uintptr_t>(bytes_.data());
    for (size_t i = 0; i < elems.size(); ++i)
      std::memcpy(data() + i * size_, &elems[i], size_);
    count_ = elems.size();
  }

  unsigned char* data() { return bytes_.data() + start_; }

  uint64_t get(size_t i) const {
    uint64_t v = 0;
    std::memcpy(&v, bytes_.data() + start_ + i * size_, size_);
    return v;
  }

  // True when no byte outside the elements changed.
  bool guardsIntact() const {
    for (size_t i = 0; i < bytes_.size(); ++i) {
      if (i >= start_ && i < start_ + count_ * size_) continue;
      if (bytes_[i] != kFill) return false;
    }
    return true;
  }

 private:
  size_t size_;
  std::vector<unsigned char> bytes_;
  size_t start_ = 0;
  size_t count_ = 0;
};

// Random elements as raw bits. Floats mix random patterns, ordinary values,
// specials (NaN with payloads, +-0, +-inf, subnormals, extremes) and, when
// `other` is given, copies or sign flips of other[i] so that ties occur.
std::vector<uint64_t> randomElems(DType dtype, size_t count, std::mt19937_64& rng,
                                  const std::vector<uint64_t>* other = nullptr);

}  // namespace eccl::reduce::testing
