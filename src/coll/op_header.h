// The consistency header an op sends first to each ring neighbour.
//
// Peers check among themselves, without the master, that they run the same
// op: each sends its digest to both neighbours and compares the two it
// receives with its own. A pair that disagrees therefore finds out on BOTH
// sides, each naming the other peer and the first differing field.
//
// Wire layout (little-endian, kEncodedSize bytes):
//   0 u32 magic "ECOH"   4 u16 version    6 u8 collective  7 u8 dtype
//   8 u8 op              9 u8 quant      10 u16 zero      12 u32 world size
//  16 u32 sender rank   20 u64 tag       28 u64 count     36 u64 revision
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "src/common/status.h"
#include "src/reduce/reduce.h"

namespace eccl::coll {

enum class Collective : uint8_t { kAllReduce = 1 };

struct OpDigest {
  Collective collective = Collective::kAllReduce;
  uint64_t tag = 0;
  uint64_t count = 0;
  reduce::DType dtype = reduce::DType::kF32;
  reduce::ReduceOp op = reduce::ReduceOp::kSum;
  uint8_t quant = 0;  // 0: none (the only value of this version)
  uint64_t revision = 0;
  uint32_t world_size = 0;
  uint32_t rank = 0;  // the sender's
};

constexpr uint32_t kOpHeaderMagic = 0x484F4345;  // "ECOH" read little-endian
constexpr uint16_t kOpHeaderVersion = 1;
constexpr size_t kOpHeaderSize = 44;
using OpHeaderBytes = std::array<uint8_t, kOpHeaderSize>;

OpHeaderBytes encodeOpHeader(const OpDigest& digest);
// kProtocolError for a bad magic, kUnsupported for another version.
Result<OpDigest> decodeOpHeader(const OpHeaderBytes& bytes);

// Ok when `theirs`, received from `peer` (e.g. "peer 3f2a9c01 (rank 2)"), agrees
// with `mine` and claims the rank `expected_rank`; else kInvalidUsage naming the
// peer and the first differing field with both values.
Status compareDigests(const OpDigest& mine, const OpDigest& theirs, uint32_t expected_rank,
                      const std::string& peer);

}  // namespace eccl::coll
