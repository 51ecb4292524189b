// ChunkHeader: the 40 bytes at the front of every Chunk payload, checked
// against the slice length the frame declares.
#include <gtest/gtest.h>

#include <array>
#include <limits>
#include <string>
#include <vector>

#include "tests/unit/protocol/message_samples.h"

namespace eccl::protocol::test {
namespace {

using ChunkBytes = std::array<uint8_t, ChunkHeader::kEncodedSize>;

ChunkHeader sampleChunk() {
  ChunkHeader c;
  c.stream = 0x0102030405060708ULL;
  c.message = 0x1112131415161718ULL;
  c.offset = 3u << 20;
  c.total = 10u << 20;
  c.seq = 3;
  return c;
}

ChunkBytes encode(const ChunkHeader& chunk) {
  ChunkBytes bytes{};
  chunk.encodeTo(bytes);
  return bytes;
}

std::string verdict(std::span<const uint8_t> bytes, uint64_t payload_bytes) {
  auto decoded = decodeChunkHeader(bytes, payload_bytes);
  return decoded ? "accepted" : decoded.status().toString();
}

std::string verdict(const ChunkHeader& chunk, uint64_t payload_bytes) {
  return verdict(encode(chunk), payload_bytes);
}

TEST(ChunkHeader, ExactLayout) {
  std::vector<uint8_t> expected;
  appendLe<uint64_t>(expected, 0x0102030405060708ULL);
  appendLe<uint64_t>(expected, 0x1112131415161718ULL);
  appendLe<uint64_t>(expected, 3u << 20);
  appendLe<uint64_t>(expected, 10u << 20);
  appendLe<uint32_t>(expected, 3);
  appendLe<uint32_t>(expected, 0);
  const ChunkBytes bytes = encode(sampleChunk());
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.end()), expected);
}

TEST(ChunkHeader, RoundTrip) {
  const ChunkHeader sample = sampleChunk();
  auto decoded = decodeChunkHeader(encode(sample), 1u << 20);
  ASSERT_TRUE(decoded.isOk()) << decoded.status().toString();
  EXPECT_EQ(decoded->stream, sample.stream);
  EXPECT_EQ(decoded->message, sample.message);
  EXPECT_EQ(decoded->offset, sample.offset);
  EXPECT_EQ(decoded->total, sample.total);
  EXPECT_EQ(decoded->seq, sample.seq);
}

TEST(ChunkHeader, EveryTruncation) {
  const std::vector<WireField> layout = {{"stream", 8}, {"message", 8}, {"offset", 8},
                                         {"total", 8},  {"seq", 4},     {"reserved", 4}};
  const ChunkBytes bytes = encode(sampleChunk());
  size_t field_start = 0;
  for (const WireField& field : layout) {
    for (size_t have = 0; have < field.size; ++have) {
      EXPECT_EQ(verdict(std::span(bytes).first(field_start + have), 0),
                "ProtocolError: Chunk: truncated at " + field.name + ": need " +
                    std::to_string(field.size) + " bytes, have " + std::to_string(have));
    }
    field_start += field.size;
  }
  EXPECT_EQ(field_start, ChunkHeader::kEncodedSize);
}

TEST(ChunkHeader, TrailingBytes) {
  const ChunkBytes header = encode(sampleChunk());
  std::vector<uint8_t> bytes(header.begin(), header.end());
  bytes.push_back(0);
  EXPECT_EQ(verdict(bytes, 0), "ProtocolError: Chunk: trailing bytes");
}

TEST(ChunkHeader, NonzeroReserved) {
  for (size_t i = 36; i < 40; ++i) {
    ChunkBytes bytes = encode(sampleChunk());
    bytes[i] = 0x01;
    EXPECT_EQ(verdict(bytes, 0), "ProtocolError: Chunk: nonzero reserved field") << "byte " << i;
  }
}

TEST(ChunkHeader, TotalAboveTheMessageLimit) {
  ChunkHeader c;
  c.total = ChunkHeader::kMaxMessageBytes + 1;
  EXPECT_EQ(verdict(c, 0),
            "ProtocolError: Chunk: message of 281474976710657 bytes exceeds the limit");
  c.total = std::numeric_limits<uint64_t>::max();
  EXPECT_EQ(verdict(c, 0),
            "ProtocolError: Chunk: message of 18446744073709551615 bytes exceeds the limit");
  c.total = ChunkHeader::kMaxMessageBytes;
  c.offset = ChunkHeader::kMaxMessageBytes - 16;
  EXPECT_EQ(verdict(c, 16), "accepted");
}

TEST(ChunkHeader, OffsetBeyondTotal) {
  ChunkHeader c;
  c.total = 10;
  c.offset = 11;
  EXPECT_EQ(verdict(c, 0),
            "ProtocolError: Chunk: slice [11, +0) lies outside a message of 10 bytes");
}

TEST(ChunkHeader, PayloadPastTheEnd) {
  ChunkHeader c;
  c.total = 10;
  c.offset = 8;
  EXPECT_EQ(verdict(c, 2), "accepted");
  EXPECT_EQ(verdict(c, 3),
            "ProtocolError: Chunk: slice [8, +3) lies outside a message of 10 bytes");
}

TEST(ChunkHeader, SliceArithmeticCannotWrap) {
  // offset + payload would wrap to a small number in 64 bits.
  ChunkHeader c;
  c.total = ChunkHeader::kMaxMessageBytes;
  c.offset = 16;
  const uint64_t payload = std::numeric_limits<uint64_t>::max() - 8;
  EXPECT_EQ(verdict(c, payload),
            "ProtocolError: Chunk: slice [16, +18446744073709551607) lies "
            "outside a message of 281474976710656 bytes");
}

TEST(ChunkHeader, EmptyMessageAndEmptySliceAtTheEnd) {
  ChunkHeader empty;
  EXPECT_EQ(verdict(empty, 0), "accepted");
  EXPECT_EQ(verdict(empty, 1),
            "ProtocolError: Chunk: slice [0, +1) lies outside a message of 0 bytes");
  ChunkHeader at_end;
  at_end.total = 64;
  at_end.offset = 64;
  EXPECT_EQ(verdict(at_end, 0), "accepted");
}

TEST(ChunkHeader, ReservedIsCheckedBeforeGeometry) {
  // Several faults at once: the first check in the documented order is reported.
  ChunkHeader c;
  c.total = ChunkHeader::kMaxMessageBytes + 1;
  c.offset = c.total + 1;
  ChunkBytes bytes = encode(c);
  bytes[39] = 0xff;
  EXPECT_EQ(verdict(bytes, 0), "ProtocolError: Chunk: nonzero reserved field");
}

}  // namespace
}  // namespace eccl::protocol::test
