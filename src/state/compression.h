// zstd for shared-state transfers: whether an entry is worth compressing
// (measured on a sample of its bytes when the peer hashes it), and the codec
// of the pieces a compressed transfer is cut into.
//
// A compressed transfer moves piece by piece (kPieceBytes of the entry each):
// a 16-byte header message (encoded length, codec) and then the encoded
// bytes; a piece that zstd does not shrink travels raw. A transfer is
// compressed when the sample's ratio is at most kMaxRatio and zstd compresses
// at least as fast as the link can carry the raw bytes (kAssumedLinkBytesPerS,
// conservatively a 10 Gbit/s link): then it never takes longer than sending
// the bytes as they are, and on slower links it takes less.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "src/common/status.h"

namespace eccl::state {

inline constexpr size_t kPieceBytes = size_t{4} << 20;
inline constexpr size_t kSampleBytes = size_t{256} << 10;
inline constexpr size_t kMinCompressedEntry = size_t{1} << 20;  // smaller: always raw
inline constexpr uint16_t kMaxRatioPermille = 800;
inline constexpr double kAssumedLinkBytesPerS = 1.25e9;

// What a sample of an entry says: compressed / raw size in per mille (1000:
// no gain or not sampled) and zstd's speed on it in MB/s (0: not sampled).
struct Compressibility {
  uint16_t permille = 1000;
  uint32_t mbps = 0;
};

// Entries below kMinCompressedEntry are not sampled.
Compressibility sampleCompressibility(std::span<const uint8_t> entry);

// `link_bytes_per_s`: the link the transfers cross (the master's setting).
bool worthCompressing(const Compressibility& c, double link_bytes_per_s = kAssumedLinkBytesPerS);

enum class PieceCodec : uint8_t { kRaw = 0, kZstd = 1 };

// A piece's header message (16 bytes on the wire: u32 length, u8 codec, zeros).
struct PieceHeader {
  static constexpr size_t kSize = 16;
  uint32_t length = 0;
  PieceCodec codec = PieceCodec::kRaw;
};
void encodePieceHeader(const PieceHeader& header, std::span<uint8_t, PieceHeader::kSize> out);
Result<PieceHeader> decodePieceHeader(std::span<const uint8_t, PieceHeader::kSize> in,
                                      size_t piece_bytes);

// The piece encoded into `out` (resized): zstd when it shrinks, else a raw copy.
PieceHeader encodePiece(std::span<const uint8_t> piece, std::vector<uint8_t>& out);
// Decodes an encoded piece into exactly `piece`; an error when the bytes do
// not decode to exactly that many.
Status decodePiece(const PieceHeader& header, std::span<const uint8_t> encoded,
                   std::span<uint8_t> piece);

}  // namespace eccl::state
