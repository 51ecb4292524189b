// Quantization of floating-point spans for the wire: fewer bytes per element,
// and the same bytes on every peer and every instruction-set path.
//
// A span of `count` elements of data dtype D (f32, f64, f16, bf16) is encoded
// under a QuantConfig into encodedBytes() bytes. The encoding is a pure function
// of (config, D, the span's values): the caller may quantize each pipeline chunk
// on its own. Every path (scalar, AVX2, AVX-512, chosen by reduce::activeIsa(),
// so ECCL_ISA and reduce::setIsa() pick it) gives the same bytes and the same
// decoded values bit for bit (-ffp-contract=off; round to nearest even).
//
// ## Accumulation type A
// f32 for f16, bf16 and f32 data; f64 for f64 data. f16/bf16 data are widened to
// f32 exactly; statistics and arithmetic are in A; results are rounded to the
// data dtype (nearest even, src/reduce/half.h) at the end.
//
// ## Wire layout (little-endian; ECCL runs on little-endian hosts only)
// Integer wires (kU8, kI8, kU16): blocks of block_elems elements starting at
// element 0, the last one partial; nblocks = ceil(count / block_elems).
//   [nblocks records][count values]
//   record b = { A scale; A offset }            2 * sizeof(A) bytes (8 or 16)
//   value  i = the integer q_i, 1 byte (u8, i8) or 2 bytes (u16)
//   encodedBytes = nblocks * 2 * sizeof(A) + count * wire size
// Float wires (kF16, kBF16): count values of 2 bytes, no records, no blocks.
//
// ## Integer wires: per block, with [qmin, qmax] = [0,255] (u8), [-128,127] (i8),
// [0,65535] (u16) and L = qmax - qmin. All arithmetic in A, rne = round to
// nearest, ties to even; clamp(v) = min(max(v, qmin), qmax) in integers.
//   mn, mx  = the block's min and max (IEEE minimum/maximum: -0 < +0).
//             kZeroPointScale widens them to include zero: mn = min(mn, 0),
//             mx = max(mx, 0), so that zero is a level and zp is in range.
//   range   = mx - mn
//   Non-finite block: a NaN or +-Inf in the block, or range overflows A:
//     record = { NaN, NaN } (canonical quiet NaN of A), every value byte 0.
//     Decodes to the canonical NaN of the data dtype (reduce.h) everywhere.
//   Degenerate block: range < T (T = 2^-100 for f32, 2^-900 for f64; includes
//     max == min): scale = 0, inv = 0.
//   Otherwise: scale = range / L, inv = L / range (one division each, per block).
//   kMinMax:         record = { scale, mn }
//                    q = clamp(rne((x - mn) * inv) + qmin)
//                    dequant = mn + (A(q) - A(qmin)) * scale
//     (degenerate: every q = qmin, dequant = mn; -0 comes back as +0)
//   kZeroPointScale: zp = clamp(qmin + rne(-mn * inv))      (an integer in A)
//                    record = { scale, zp }
//                    q = clamp(rne(x * inv) + zp)
//                    dequant = 0 + (A(q) - zp) * scale
//     (degenerate: zp = 0, every q = 0, dequant = +0)
//     Zero round-trips exactly: x = +-0 gives q = zp and dequant = +0, in every
//     block (the range always includes zero): sparse gradients stay sparse.
// Decoding computes dequant from whatever record it reads; a NaN result is
// replaced by the canonical NaN, then rounded to the data dtype.
//
// ## Float wires: plain round-to-nearest-even conversion (half.h), element by
// element. A NaN is sent as the canonical wire NaN (f16 0x7E00, bf16 0x7FC0)
// and decodes as the canonical NaN of the data dtype; +-Inf stay +-Inf.
// f64 data is converted to f32 first, then to the wire (two roundings). Finite
// values beyond the wire's range become +-Inf (f16: |x| >= 65520). f16 data on
// an f16 wire and bf16 data on a bf16 wire are lossless (NaN payloads aside).
//
// ## Error bounds (proved in error_bound.cc; tested)
// u = unit roundoff of A (2^-24, 2^-53); u_d of the data dtype (f16 2^-11,
// bf16 2^-8, f32 2^-24, f64 2^-53); eta_d = half its smallest subnormal (f16
// 2^-25, bf16 2^-134, f32 2^-150, f64 2^-1075). For one block with computed
// range R (kZeroPointScale: the widened range) and M = max |x| in the block,
// every element satisfies |x - dequant(q(x))| <= E(R, M):
//   integer wire:  E_A = R                                  if R < T (degenerate)
//                  E_A = R / (2L) + 8u (R + M)              otherwise
//                  E = E_A                                  for f32/f64 data
//                  E = E_A + u_d (M + E_A) + eta_d          for f16/bf16 data
//   float wire:    conversion error of the chain data -> (f32) -> wire -> data,
//                  u_w M' + eta_w per rounding step (quantErrorBound()); infinite
//                  once M reaches the wire's overflow threshold.
// Ring all-reduce over N peers (sum): element p_1 = x_1; at hop k = 1..N-1 the
// partial sum p_k is quantized and the next peer adds its own value,
// p_{k+1} = fl(dequant(q(p_k)) + x_{k+1}) (reduceInto); the owner quantizes p_N
// once for the all-gather and every peer decodes those bytes. With (R_k, M_k)
// the block extents at quantization k = 1..N:
//   |result - sum x| <= sum_{k=1..N} E(R_k, M_k) + sum_{k=2..N} (2 u_d M_k + eta_d)
// ringErrorBound() evaluates this from measured extents, or a priori from
// max |x| alone (M_k <= k max|x| + error so far, R_k <= 2 M_k).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "src/common/status.h"
#include "src/reduce/reduce.h"

namespace eccl::quant {

enum class QuantAlgo : uint8_t { kNone = 0, kMinMax = 1, kZeroPointScale = 2 };
enum class WireType : uint8_t { kU8 = 0, kI8 = 1, kU16 = 2, kF16 = 3, kBF16 = 4 };

struct QuantConfig {
  QuantAlgo algo;
  WireType wire;
  uint32_t block_elems;  // kMinBlockElems..kMaxBlockElems, a multiple of 16
};

// Checked for every wire, although float wires have no blocks, so that one
// config means the same thing whatever the wire.
constexpr uint32_t kMinBlockElems = 16;
constexpr uint32_t kMaxBlockElems = uint32_t{1} << 20;
constexpr uint32_t kBlockElemsMultiple = 16;

// Whether a value (e.g. decoded from the wire) names a member of the enum.
bool isValid(QuantAlgo algo);
bool isValid(WireType wire);
const char* algoName(QuantAlgo algo);  // "none", "minmax", "zero_point_scale"
const char* wireName(WireType wire);   // "u8", "i8", "u16", "f16", "bf16"

// kInvalidArgument with a message naming the problem: algorithm none or unknown,
// unknown wire, non-float data, block size out of range or not a multiple of 16.
Status validate(const QuantConfig& config, reduce::DType data);

// The functions below need a config that validate() accepted for `data`
// (others abort: a bug in the caller). Pointers need no alignment; src/wire/dst
// may not overlap.

// Bytes encode() writes for `count` elements (0 for count 0).
size_t encodedBytes(const QuantConfig& config, reduce::DType data, size_t count);

// Writes exactly encodedBytes(config, data, count) bytes to `wire`.
void encode(const QuantConfig& config, reduce::DType data, const void* src, size_t count,
            void* wire);

// Reads encodedBytes(config, data, count) bytes; writes count elements.
void decode(const QuantConfig& config, reduce::DType data, const void* wire, size_t count,
            void* dst);

// acc[i] = acc[i] (op) dequant(wire)[i]: bit for bit decode() into a temporary
// followed by reduce::reduceInto (kAvg combines like kSum; canonical NaNs). `op`
// must be valid.
void decodeReduce(const QuantConfig& config, reduce::DType data, reduce::ReduceOp op,
                  const void* wire, size_t count, void* acc);

// The extent of one block at one quantization: its computed range R (for
// kZeroPointScale the range widened to include zero) and M = max |x|.
struct BlockExtent {
  double range;
  double max_abs;
};

// E(R, M) above: the largest |x - decode(encode(x))| of an element of a block
// with this extent. +infinity where no finite bound holds (wire overflow).
double quantErrorBound(const QuantConfig& config, reduce::DType data, BlockExtent extent);

// The ring bound above from the extents of one element's block at each of the
// N quantizations (N - 1 hops of the reduce-scatter, then the owner's).
double ringErrorBound(const QuantConfig& config, reduce::DType data,
                      std::span<const BlockExtent> steps);

// The same bound a priori, from only max |input| over every peer's elements.
double ringErrorBound(const QuantConfig& config, reduce::DType data, uint32_t peers,
                      double max_abs_input);

}  // namespace eccl::quant
