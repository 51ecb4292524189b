#include "src/state/compression.h"

#include <zstd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <string>

#include "src/protocol/wire.h"

namespace eccl::state {

namespace {

constexpr int kLevel = 1;  // the fast end: the point is to beat the link

}  // namespace

Compressibility sampleCompressibility(std::span<const uint8_t> entry) {
  Compressibility out;
  if (entry.size() < kMinCompressedEntry) return out;
  // From the middle: the start of a tensor is often padding or a header.
  const size_t length = std::min(kSampleBytes, entry.size());
  const auto sample = entry.subspan((entry.size() - length) / 2, length);
  std::vector<uint8_t> encoded(ZSTD_compressBound(length));
  const auto started = std::chrono::steady_clock::now();
  const size_t size =
      ZSTD_compress(encoded.data(), encoded.size(), sample.data(), sample.size(), kLevel);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (ZSTD_isError(size)) return out;
  out.permille = static_cast<uint16_t>(std::min<size_t>(1000, size * 1000 / length));
  const double mbps = static_cast<double>(length) / std::max(seconds, 1e-9) / 1e6;
  // At least 1: 0 means "not sampled", and a sample on a starved machine
  // (TSan, 256 KiB in 0.75 s) is still a sample.
  out.mbps = static_cast<uint32_t>(std::clamp(mbps, 1.0, 4e9));
  return out;
}

bool worthCompressing(const Compressibility& c, double link_bytes_per_s) {
  return c.permille <= kMaxRatioPermille && static_cast<double>(c.mbps) * 1e6 >= link_bytes_per_s;
}

void encodePieceHeader(const PieceHeader& header, std::span<uint8_t, PieceHeader::kSize> out) {
  std::memset(out.data(), 0, out.size());
  protocol::storeLe<uint32_t>(out.data(), header.length);
  out[4] = static_cast<uint8_t>(header.codec);
}

Result<PieceHeader> decodePieceHeader(std::span<const uint8_t, PieceHeader::kSize> in,
                                      size_t piece_bytes) {
  PieceHeader header;
  header.length = protocol::loadLe<uint32_t>(in.data());
  if (in[4] > static_cast<uint8_t>(PieceCodec::kZstd)) {
    return protocolError("shared state piece with unknown codec " + std::to_string(in[4]));
  }
  header.codec = static_cast<PieceCodec>(in[4]);
  for (size_t i = 5; i < in.size(); ++i) {
    if (in[i] != 0) return protocolError("shared state piece header has nonzero reserved bytes");
  }
  const size_t limit =
      header.codec == PieceCodec::kRaw ? piece_bytes : ZSTD_compressBound(piece_bytes);
  if ((header.codec == PieceCodec::kRaw && header.length != piece_bytes) || header.length > limit) {
    return protocolError("shared state piece of " + std::to_string(header.length) +
                         " encoded bytes for " + std::to_string(piece_bytes) + " bytes");
  }
  return header;
}

PieceHeader encodePiece(std::span<const uint8_t> piece, std::vector<uint8_t>& out) {
  out.resize(ZSTD_compressBound(piece.size()));
  const size_t size = ZSTD_compress(out.data(), out.size(), piece.data(), piece.size(), kLevel);
  if (!ZSTD_isError(size) && size < piece.size()) {
    out.resize(size);
    return {static_cast<uint32_t>(size), PieceCodec::kZstd};
  }
  out.assign(piece.begin(), piece.end());
  return {static_cast<uint32_t>(piece.size()), PieceCodec::kRaw};
}

Status decodePiece(const PieceHeader& header, std::span<const uint8_t> encoded,
                   std::span<uint8_t> piece) {
  if (header.codec == PieceCodec::kRaw) {
    if (encoded.size() != piece.size()) return protocolError("raw piece of the wrong size");
    std::memcpy(piece.data(), encoded.data(), piece.size());
    return Status::ok();
  }
  // The frame must say its size, and it must be the piece's: nothing else is written.
  const unsigned long long declared = ZSTD_getFrameContentSize(encoded.data(), encoded.size());
  if (declared != piece.size()) {
    return protocolError("zstd piece declares " + std::to_string(declared) + " bytes, expected " +
                         std::to_string(piece.size()));
  }
  const size_t size = ZSTD_decompress(piece.data(), piece.size(), encoded.data(), encoded.size());
  if (ZSTD_isError(size) || size != piece.size()) {
    return protocolError(std::string("zstd piece does not decode: ") +
                         (ZSTD_isError(size) ? ZSTD_getErrorName(size) : "short"));
  }
  return Status::ok();
}

}  // namespace eccl::state
