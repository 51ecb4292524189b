// Frame and chunk headers: encoded and decoded once per chunk on the data path.
#include <benchmark/benchmark.h>

#include <array>

#include "src/protocol/frame.h"
#include "src/protocol/messages.h"

namespace {

using eccl::protocol::ChunkHeader;
using eccl::protocol::FrameHeader;
using eccl::protocol::kFrameHeaderSize;
using eccl::protocol::MessageType;

FrameHeader chunkFrameHeader() {
  FrameHeader header;
  header.type = MessageType::kChunk;
  header.flags = eccl::protocol::kFlagChecksum;
  header.length = static_cast<uint32_t>(ChunkHeader::kEncodedSize + (1u << 20));
  header.checksum = 0x0123456789abcdefull;
  return header;
}

ChunkHeader sampleChunkHeader() {
  ChunkHeader chunk;
  chunk.stream = 42;
  chunk.message = 7;
  chunk.seq = 100;
  chunk.offset = uint64_t{100} << 20;
  chunk.total = uint64_t{256} << 20;
  return chunk;
}

void BM_FrameHeaderEncode(benchmark::State& state) {
  const FrameHeader header = chunkFrameHeader();
  std::array<uint8_t, kFrameHeaderSize> out{};
  for (auto _ : state) {
    eccl::protocol::encodeFrameHeader(header, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FrameHeaderEncode);

void BM_FrameHeaderDecode(benchmark::State& state) {
  std::array<uint8_t, kFrameHeaderSize> bytes{};
  eccl::protocol::encodeFrameHeader(chunkFrameHeader(), bytes);
  for (auto _ : state) {
    benchmark::DoNotOptimize(bytes.data());
    auto header = eccl::protocol::decodeFrameHeader(bytes);
    if (!header) state.SkipWithError(header.status().toString().c_str());
    benchmark::DoNotOptimize(header);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_FrameHeaderDecode);

void BM_ChunkHeaderEncode(benchmark::State& state) {
  const ChunkHeader chunk = sampleChunkHeader();
  std::array<uint8_t, ChunkHeader::kEncodedSize> out{};
  for (auto _ : state) {
    chunk.encodeTo(out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ChunkHeaderEncode);

void BM_ChunkHeaderDecode(benchmark::State& state) {
  const ChunkHeader chunk = sampleChunkHeader();
  std::array<uint8_t, ChunkHeader::kEncodedSize> bytes{};
  chunk.encodeTo(bytes);
  const uint64_t payload = 1u << 20;
  for (auto _ : state) {
    benchmark::DoNotOptimize(bytes.data());
    auto decoded = eccl::protocol::decodeChunkHeader(bytes, payload);
    if (!decoded) state.SkipWithError(decoded.status().toString().c_str());
    benchmark::DoNotOptimize(decoded);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ChunkHeaderDecode);

}  // namespace
