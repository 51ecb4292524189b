// Shared helpers of the quantization tests: typed buffers from doubles, block
// extents as quant.h defines them, random spans with special values, and a
// scope that switches the ISA path.
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "src/quant/quant.h"
#include "src/reduce/reduce.h"

namespace eccl::quant::testing {

constexpr reduce::DType kDataTypes[] = {reduce::DType::kF16, reduce::DType::kBF16,
                                        reduce::DType::kF32, reduce::DType::kF64};
constexpr WireType kWires[] = {WireType::kU8, WireType::kI8, WireType::kU16, WireType::kF16,
                               WireType::kBF16};
constexpr WireType kIntWires[] = {WireType::kU8, WireType::kI8, WireType::kU16};
constexpr QuantAlgo kAlgos[] = {QuantAlgo::kMinMax, QuantAlgo::kZeroPointScale};
constexpr reduce::Isa kIsas[] = {reduce::Isa::kScalar, reduce::Isa::kAvx2, reduce::Isa::kAvx512};

using Bytes = std::vector<unsigned char>;

// Values rounded (nearest even) to the data dtype; f16/bf16 through f32.
Bytes toData(reduce::DType data, const std::vector<double>& values);
// Element i widened exactly to double.
double valueAt(reduce::DType data, const Bytes& buffer, size_t i);
// Raw element bits (for NaN checks).
uint64_t bitsAt(reduce::DType data, const Bytes& buffer, size_t i);
bool isCanonicalNan(reduce::DType data, uint64_t bits);

// The extent quant.h's bound expects for elements [first, first + n) of a
// finite span: R computed in the accumulation type (widened to include zero
// for kZeroPointScale) and M = max |x|.
BlockExtent extentOf(const QuantConfig& config, reduce::DType data, const Bytes& buffer,
                     size_t first, size_t n);

Bytes encoded(const QuantConfig& config, reduce::DType data, const Bytes& src);
Bytes decoded(const QuantConfig& config, reduce::DType data, const Bytes& wire, size_t count);

// Uniform values in [lo, hi].
std::vector<double> uniform(size_t count, double lo, double hi, std::mt19937_64& rng);

// A hard span: normal values of random magnitude per block, with constant
// blocks, denormals, +-0, exact ties, NaN/Inf blocks and huge ranges mixed in.
std::vector<double> hardValues(reduce::DType data, size_t count, uint32_t block,
                               std::mt19937_64& rng);

std::string describe(const QuantConfig& config, reduce::DType data);

// Switches to one path for a scope and back to the best afterwards.
class IsaScope {
 public:
  explicit IsaScope(reduce::Isa isa) : ok_(reduce::setIsa(isa).isOk()) {}
  ~IsaScope() { (void)reduce::setIsa(reduce::bestSupportedIsa()); }
  IsaScope(const IsaScope&) = delete;
  IsaScope& operator=(const IsaScope&) = delete;
  bool ok() const { return ok_; }

 private:
  bool ok_;
};

}  // namespace eccl::quant::testing
