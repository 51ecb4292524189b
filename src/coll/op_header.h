// The consistency header an op sends first to each ring neighbour.
//
// Peers check among themselves, without the master, that they run the same
// op: each sends its digest to both neighbours and compares the two it
// receives with its own. A pair that disagrees therefore finds out on BOTH
// sides, each naming the other peer and the first differing field.
//
// Wire layout (little-endian, kOpHeaderSize bytes), version 3:
//   0 u32 magic "ECOH"   4 u16 version    6 u8 collective  7 u8 dtype
//   8 u8 op              9 u8 quant      10 u16 quant block 12 u32 world size
//  16 u32 sender rank   20 u64 tag       28 u64 count     36 u64 revision
//  44 u32 root          48 u64 counts hash
// quant = algorithm << 4 | wire type (src/quant/quant.h), 0 without
// quantization; quant block = block_elems / 16 - 1, 0 without quantization.
// (Version 2 had no quantization: quant and quant block were zero. Version 1
// was the first 44 bytes, all-reduce only.)
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include "src/common/status.h"
#include "src/quant/quant.h"
#include "src/reduce/reduce.h"

namespace eccl::coll {

enum class Collective : uint8_t {
  kAllReduce = 1,
  kBroadcast = 2,
  kAllGather = 3,
  kReduceScatter = 4,
  kAllToAll = 5,
};
// "allReduce", "broadcast", ...; "collective #N" for a value this build does not know.
std::string collectiveName(Collective collective);

struct OpDigest {
  Collective collective = Collective::kAllReduce;
  uint64_t tag = 0;
  // Elements of the whole buffer: all-reduce and broadcast count, the sum of
  // the counts of all-gather and reduce-scatter.
  uint64_t count = 0;
  reduce::DType dtype = reduce::DType::kF32;
  reduce::ReduceOp op = reduce::ReduceOp::kSum;  // kSum where the collective does not reduce
  // algo kNone: no quantization (wire and block_elems are then 0). Kept raw
  // when decoded: compareDigests names values this build does not know.
  quant::QuantConfig quant{quant::QuantAlgo::kNone, quant::WireType::kU8, 0};
  uint64_t revision = 0;
  uint32_t world_size = 0;
  uint32_t rank = 0;         // the sender's
  uint32_t root = 0;         // broadcast: the root's rank; 0 otherwise
  uint64_t counts_hash = 0;  // all-gather, reduce-scatter: countsHash(counts); 0 otherwise
};

// "none", or e.g. "minmax/u8/block 1024" (values this build does not know as numbers).
std::string quantText(const quant::QuantConfig& config);

// XXH3-64 of the counts as little-endian u64 values, in rank order.
uint64_t countsHash(std::span<const size_t> counts);

constexpr uint32_t kOpHeaderMagic = 0x484F4345;  // "ECOH" read little-endian
constexpr uint16_t kOpHeaderVersion = 3;
constexpr size_t kOpHeaderSize = 56;
using OpHeaderBytes = std::array<uint8_t, kOpHeaderSize>;

OpHeaderBytes encodeOpHeader(const OpDigest& digest);
// kProtocolError for a bad magic or a quant block without quantization,
// kUnsupported for another version.
Result<OpDigest> decodeOpHeader(const OpHeaderBytes& bytes);

// The field in which two digests first differ, in the order compareDigests checks them.
enum class DigestField : uint8_t {
  kCollective = 1,
  kTag = 2,
  kCount = 3,
  kDtype = 4,
  kOp = 5,
  kQuant = 6,
  kRevision = 7,
  kWorldSize = 8,
  kRoot = 9,
  kCountsHash = 10,
  kRank = 11,  // the sender claims another rank than the receiver's ring gives it
};

// Where `theirs` first differs from `mine`, each side's value as a number:
// enums as their codes, quantization packed as algorithm << 40 | wire << 32 |
// block elements; for kRank, the rank `theirs` claims and `expected_rank`.
struct DigestMismatch {
  DigestField field = DigestField::kCollective;
  uint64_t theirs = 0;
  uint64_t mine = 0;
};

// Nothing when `theirs` agrees with `mine` and claims the rank `expected_rank`.
std::optional<DigestMismatch> firstMismatch(const OpDigest& mine, const OpDigest& theirs,
                                            uint32_t expected_rank);

// Ok when `theirs`, received from `peer` (e.g. "peer 3f2a9c01 (rank 2)"), agrees
// with `mine` and claims the rank `expected_rank`; else kInvalidUsage naming the
// peer and the first differing field with both values.
Status compareDigests(const OpDigest& mine, const OpDigest& theirs, uint32_t expected_rank,
                      const std::string& peer);

// A mismatch notice: what a peer of a recursive-doubling all-reduce that
// learned that two peers disagree sends, in place of its op header, to each
// partner it has not sent to yet (src/comm/comm_rd_allreduce.cc). A partner
// forwards it in turn, so the notice reaches every peer of the op, each of
// which fails with kInvalidUsage naming the field rather than with a lost
// peer. Same size as the op header, on the same streams.
//
// Wire layout (little-endian, kOpHeaderSize bytes), version 1:
//   0 u32 magic "ECON"   4 u16 version    6 u8 field     7 u8 zero
//   8 u32 rank a        12 u32 rank b    16 u64 value a 24 u64 value b
//  32..55 zero
// Rank b received rank a's op header and found the field to differ: value a
// is rank a's (DigestMismatch::theirs), value b rank b's (mine).
struct MismatchNotice {
  DigestField field = DigestField::kCollective;
  uint32_t rank_a = 0;
  uint32_t rank_b = 0;
  uint64_t value_a = 0;
  uint64_t value_b = 0;
};

constexpr uint32_t kMismatchNoticeMagic = 0x4E4F4345;  // "ECON" read little-endian
constexpr uint16_t kMismatchNoticeVersion = 1;

// The notice of rank `receiver`, which found `mismatch` in the header of rank `sender`.
MismatchNotice mismatchNotice(const DigestMismatch& mismatch, uint32_t sender, uint32_t receiver);
OpHeaderBytes encodeMismatchNotice(const MismatchNotice& notice);
// Whether the bytes on an op header stream are a notice (its magic) rather than a header.
bool isMismatchNotice(const OpHeaderBytes& bytes);
// kProtocolError for a bad magic, an unknown field or bytes that should be
// zero; kUnsupported for another version.
Result<MismatchNotice> decodeMismatchNotice(const OpHeaderBytes& bytes);
// kInvalidUsage: `from` (e.g. "peer 3f2a9c01 (rank 2)") reports that the ranks
// of the notice disagree, naming the field and both values.
Status noticeStatus(const MismatchNotice& notice, const std::string& from);

}  // namespace eccl::coll
