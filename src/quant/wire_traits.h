// Compile-time facts about data dtypes and integer wires, shared by the scalar
// and vector kernels (constants only: nothing here is compiled into code).
#pragma once

#include <cstdint>
#include <type_traits>

#include "src/quant/quant.h"

namespace eccl::quant {

template <WireType W>
struct IntWire;
template <>
struct IntWire<WireType::kU8> {
  using type = uint8_t;
  static constexpr int32_t kMin = 0;
  static constexpr int32_t kMax = 255;
};
template <>
struct IntWire<WireType::kI8> {
  using type = int8_t;
  static constexpr int32_t kMin = -128;
  static constexpr int32_t kMax = 127;
};
template <>
struct IntWire<WireType::kU16> {
  using type = uint16_t;
  static constexpr int32_t kMin = 0;
  static constexpr int32_t kMax = 65535;
};

// Storage and accumulation types of a data dtype.
template <reduce::DType D>
struct DataType;
template <>
struct DataType<reduce::DType::kF16> {
  using Storage = uint16_t;
  using Acc = float;
};
template <>
struct DataType<reduce::DType::kBF16> {
  using Storage = uint16_t;
  using Acc = float;
};
template <>
struct DataType<reduce::DType::kF32> {
  using Storage = float;
  using Acc = float;
};
template <>
struct DataType<reduce::DType::kF64> {
  using Storage = double;
  using Acc = double;
};

// Ranges below this are degenerate (quant.h): scale and inv stay normal and
// finite for every range at or above it.
template <typename A>
constexpr A kDegenerateRange = std::is_same_v<A, float> ? A(0x1p-100) : A(0x1p-900);

}  // namespace eccl::quant
