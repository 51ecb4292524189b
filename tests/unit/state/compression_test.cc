// zstd pieces of shared-state transfers: the sample that decides, the piece
// codec both ways, and every way a piece from the network can be wrong.
#include "src/state/compression.h"

#include <gtest/gtest.h>

#include <random>

namespace eccl::state {
namespace {

std::vector<uint8_t> randomBytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<uint8_t> out(n);
  for (auto& b : out)
    b = static_cast<uint8_t>(rng());
  return out;
}

// Mostly zeros with a sprinkling of values: an optimizer moment early on.
std::vector<uint8_t> sparseBytes(size_t n) {
  std::vector<uint8_t> out(n, 0);
  for (size_t i = 0; i < n; i += 997)
    out[i] = static_cast<uint8_t>(i);
  return out;
}

TEST(Compressibility, SmallEntriesAreNotSampled) {
  const auto bytes = sparseBytes(kMinCompressedEntry - 1);
  const Compressibility c = sampleCompressibility(bytes);
  EXPECT_EQ(c.permille, 1000);
  EXPECT_EQ(c.mbps, 0u);
  EXPECT_FALSE(worthCompressing(c));
}

TEST(Compressibility, SparseDataIsWorthIt) {
  const Compressibility c = sampleCompressibility(sparseBytes(kMinCompressedEntry));
  EXPECT_LT(c.permille, 100);
  EXPECT_GT(c.mbps, 0u);
}

TEST(Compressibility, RandomBytesAreNot) {
  const Compressibility c = sampleCompressibility(randomBytes(kMinCompressedEntry, 1));
  EXPECT_GE(c.permille, 990);
  EXPECT_FALSE(worthCompressing(c));
}

TEST(Compressibility, TheRuleNeedsARatioAndASpeed) {
  const auto fast = static_cast<uint32_t>(kAssumedLinkBytesPerS / 1e6);
  EXPECT_TRUE(worthCompressing({kMaxRatioPermille, fast}));
  EXPECT_FALSE(worthCompressing({kMaxRatioPermille + 1, fast}));
  EXPECT_FALSE(worthCompressing({100, fast - 1}));  // slower than the link: raw is faster
}

TEST(PieceCodec, CompressibleBytesRoundTripAsZstd) {
  const auto piece = sparseBytes(kPieceBytes);
  std::vector<uint8_t> encoded;
  const PieceHeader header = encodePiece(piece, encoded);
  EXPECT_EQ(header.codec, PieceCodec::kZstd);
  EXPECT_EQ(header.length, encoded.size());
  EXPECT_LT(encoded.size(), piece.size() / 10);
  std::vector<uint8_t> out(piece.size(), 0xAB);
  ASSERT_TRUE(decodePiece(header, encoded, out).isOk());
  EXPECT_EQ(out, piece);
}

TEST(PieceCodec, IncompressibleBytesTravelRaw) {
  const auto piece = randomBytes(12345, 2);
  std::vector<uint8_t> encoded;
  const PieceHeader header = encodePiece(piece, encoded);
  EXPECT_EQ(header.codec, PieceCodec::kRaw);
  EXPECT_EQ(encoded, piece);
  std::vector<uint8_t> out(piece.size());
  ASSERT_TRUE(decodePiece(header, encoded, out).isOk());
  EXPECT_EQ(out, piece);
}

TEST(PieceCodec, HeadersRoundTripAndBadOnesAreRefused) {
  std::array<uint8_t, PieceHeader::kSize> bytes;
  encodePieceHeader({777, PieceCodec::kZstd}, bytes);
  auto header = decodePieceHeader(bytes, 4096);
  ASSERT_TRUE(header.isOk());
  EXPECT_EQ(header->length, 777u);
  EXPECT_EQ(header->codec, PieceCodec::kZstd);

  bytes[4] = 2;
  EXPECT_EQ(decodePieceHeader(bytes, 4096).status().message(),
            "shared state piece with unknown codec 2");
  encodePieceHeader({777, PieceCodec::kZstd}, bytes);
  bytes[15] = 1;
  EXPECT_EQ(decodePieceHeader(bytes, 4096).status().message(),
            "shared state piece header has nonzero reserved bytes");
  encodePieceHeader({4095, PieceCodec::kRaw}, bytes);  // raw must be the piece's size
  EXPECT_EQ(decodePieceHeader(bytes, 4096).status().message(),
            "shared state piece of 4095 encoded bytes for 4096 bytes");
  encodePieceHeader({1u << 30, PieceCodec::kZstd}, bytes);  // beyond zstd's bound
  EXPECT_FALSE(decodePieceHeader(bytes, 4096).isOk());
}

TEST(PieceCodec, ZstdBytesThatDoNotDecodeToThePieceAreRefused) {
  const auto piece = sparseBytes(1 << 20);
  std::vector<uint8_t> encoded;
  const PieceHeader header = encodePiece(piece, encoded);
  ASSERT_EQ(header.codec, PieceCodec::kZstd);
  // A piece of another size: the frame's declared size does not match.
  std::vector<uint8_t> shorter(piece.size() - 1);
  EXPECT_EQ(decodePiece(header, encoded, shorter).code(), Code::kProtocolError);
  // Flipped bytes in the body, and garbage.
  auto corrupt = encoded;
  corrupt[corrupt.size() / 2] ^= 0xFF;
  corrupt[corrupt.size() / 2 + 1] ^= 0xFF;
  std::vector<uint8_t> out(piece.size());
  const Status flipped = decodePiece(header, corrupt, out);
  EXPECT_TRUE(!flipped.isOk() || out != piece) << "a corrupted frame decoded to the piece";
  const auto garbage = randomBytes(100, 3);
  EXPECT_EQ(decodePiece({100, PieceCodec::kZstd}, garbage, out).code(), Code::kProtocolError);
  // A raw piece whose bytes are not the piece's size.
  EXPECT_EQ(decodePiece({10, PieceCodec::kRaw}, std::vector<uint8_t>(10), out).code(),
            Code::kProtocolError);
}

}  // namespace
}  // namespace eccl::state
