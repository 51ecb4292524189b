// The CheckFree recovery formula (stage_recovery.h) and its argument checks.
// One plain loop per working type: recovery runs once per stage failure, so
// GCC's vectorisation of the loop is enough, with no per-ISA files.
#include "src/checkfree/stage_recovery.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <type_traits>

#include "src/common/unaligned.h"
#include "src/reduce/half.h"

namespace eccl::checkfree {
namespace {

using reduce::DType;

template <typename T>
struct Weights {
  T prev;
  T next;
  T sum;
};

template <typename T>
T canonicalNan();
template <>
float canonicalNan<float>() {
  return std::bit_cast<float>(uint32_t{0x7FC00000u});
}
template <>
double canonicalNan<double>() {
  return std::bit_cast<double>(uint64_t{0x7FF8000000000000u});
}

// The formula for one element; NaN canonicalised so its bits do not depend on
// which operand the compiler put first.
template <typename T>
T combine(T prev, T next, const Weights<T>& w) {
  const T r = (w.next * next + w.prev * prev) / w.sum;
  return r != r ? canonicalNan<T>() : r;
}

template <typename T>
void combineLoop(const void* prev, const void* next, void* out, size_t count, const Weights<T>& w) {
  for (size_t i = 0; i < count; ++i) {
    unaligned::store<T>(out, i,
                        combine(unaligned::load<T>(prev, i), unaligned::load<T>(next, i), w));
  }
}

// f16/bf16: widen exactly, combine in f32, round to nearest even.
template <float (*Widen)(uint16_t), uint16_t (*Narrow)(float)>
void combineHalfLoop(const void* prev, const void* next, void* out, size_t count,
                     const Weights<float>& w) {
  for (size_t i = 0; i < count; ++i) {
    const float p = Widen(unaligned::load<uint16_t>(prev, i));
    const float n = Widen(unaligned::load<uint16_t>(next, i));
    unaligned::store<uint16_t>(out, i, Narrow(combine(p, n, w)));
  }
}

// %g: std::to_string would print a norm of 1e-30 as 0.000000.
std::string text(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%g", value);
  return buffer;
}

Status checkNonNegativeFinite(double value, const char* name) {
  if (std::isfinite(value) && value >= 0) return Status::ok();
  return invalidArgument(std::string(name) + " is " + text(value) + ": it must be finite and >= 0");
}

// The weights in T, refused when T cannot hold them or they sum to 0.
template <typename T>
Result<Weights<T>> weightsOf(double prev_norm, double next_norm, double epsilon, DType dtype) {
  const double prev = prev_norm + epsilon;
  const double next = next_norm + epsilon;
  Weights<T> w{static_cast<T>(prev), static_cast<T>(next), T{0}};
  w.sum = w.next + w.prev;
  const std::string type = reduce::dtypeName(dtype);
  if (!std::isfinite(w.prev) || !std::isfinite(w.next) || !std::isfinite(w.sum)) {
    return invalidArgument("the weights prev_norm + epsilon = " + text(prev) +
                           " and next_norm + epsilon = " + text(next) +
                           " overflow the working type of " + type +
                           " (or their sum does): scale the norms down");
  }
  if (w.sum == 0) {
    return invalidArgument("the weights prev_norm + epsilon and next_norm + epsilon sum to 0 in " +
                           type + ": give epsilon > 0 so that zero norms still weigh");
  }
  return w;
}

// Whether out shares bytes with a neighbour other than by being it exactly.
bool overlapsPartially(const void* out, const void* in, size_t bytes) {
  if (in == nullptr || in == out || bytes == 0) return false;
  const auto o = reinterpret_cast<uintptr_t>(out);
  const auto n = reinterpret_cast<uintptr_t>(in);
  return o < n + bytes && n < o + bytes;
}

Status checkArguments(const void* prev, double prev_norm, const void* next, double next_norm,
                      void* out, size_t count, DType dtype, double epsilon) {
  if (prev == nullptr && next == nullptr) {
    return invalidArgument("prev and next are both NULL: a stage needs at least one neighbour");
  }
  if (!reduce::isValid(dtype)) {
    return invalidArgument("unknown dtype " + std::to_string(static_cast<int>(dtype)));
  }
  if (dtype != DType::kF32 && dtype != DType::kF64 && dtype != DType::kF16 &&
      dtype != DType::kBF16) {
    return invalidArgument(std::string("dtype ") + reduce::dtypeName(dtype) +
                           " is not supported: stage weights are floating point (f32, f64, f16 "
                           "or bf16), and a weighted average of integers is not");
  }
  ECCL_RETURN_IF_ERROR(checkNonNegativeFinite(prev_norm, "prev_norm"));
  ECCL_RETURN_IF_ERROR(checkNonNegativeFinite(next_norm, "next_norm"));
  ECCL_RETURN_IF_ERROR(checkNonNegativeFinite(epsilon, "epsilon"));
  if (count == 0) return Status::ok();
  if (out == nullptr) return invalidArgument("out is NULL with count " + std::to_string(count));
  const size_t size = reduce::dtypeSize(dtype);
  if (count > SIZE_MAX / size) {
    return invalidArgument("count " + std::to_string(count) + " of " + reduce::dtypeName(dtype) +
                           " overflows the address space");
  }
  const size_t bytes = count * size;
  if (overlapsPartially(out, prev, bytes) || overlapsPartially(out, next, bytes)) {
    return invalidArgument(
        "out overlaps a neighbour without being it: pass the neighbour itself (in place) or "
        "a separate buffer");
  }
  return Status::ok();
}

// Both neighbours: the weights are checked even when count is 0.
template <typename T>
Status combineAs(const void* prev, double prev_norm, const void* next, double next_norm, void* out,
                 size_t count, DType dtype, double epsilon) {
  auto w = weightsOf<T>(prev_norm, next_norm, epsilon, dtype);
  if (!w) return w.status();
  if (count == 0) return Status::ok();
  if constexpr (std::is_same_v<T, double>) {
    combineLoop<double>(prev, next, out, count, *w);
  } else if (dtype == DType::kF32) {
    combineLoop<float>(prev, next, out, count, *w);
  } else if (dtype == DType::kF16) {
    combineHalfLoop<reduce::f16ToF32, reduce::f32ToF16>(prev, next, out, count, *w);
  } else {
    combineHalfLoop<reduce::bf16ToF32, reduce::f32ToBf16>(prev, next, out, count, *w);
  }
  return Status::ok();
}

}  // namespace

Status recoverStage(const void* prev, double prev_norm, const void* next, double next_norm,
                    void* out, size_t count, DType dtype, double epsilon) {
  ECCL_RETURN_IF_ERROR(
      checkArguments(prev, prev_norm, next, next_norm, out, count, dtype, epsilon));
  if (prev == nullptr || next == nullptr) {
    // An end of the pipeline: the one neighbour's bits, NaN payloads included.
    const void* only = prev != nullptr ? prev : next;
    if (count > 0 && only != out) std::memcpy(out, only, count * reduce::dtypeSize(dtype));
    return Status::ok();
  }
  if (dtype == DType::kF64) {
    return combineAs<double>(prev, prev_norm, next, next_norm, out, count, dtype, epsilon);
  }
  return combineAs<float>(prev, prev_norm, next, next_norm, out, count, dtype, epsilon);
}

}  // namespace eccl::checkfree
