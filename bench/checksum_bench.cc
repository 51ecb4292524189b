// XXH3-64 payload checksums (ChannelOptions::checksum): what integrity costs
// per byte; and the XXH3-128 content hash of shared state on one thread.
// ECCL_ISA=scalar measures xxhash.h's baseline build, the default its AVX2 one.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <span>
#include <vector>

#include "src/protocol/checksum.h"
#include "src/protocol/messages.h"
#include "src/state/content_hash.h"

namespace {

std::vector<uint8_t> payload(size_t size) {
  std::vector<uint8_t> bytes(size);
  for (size_t i = 0; i < size; ++i)
    bytes[i] = static_cast<uint8_t>(i * 131 + (i >> 9));
  return bytes;
}

// One frame's payload in one call, as the sender computes it.
void BM_PayloadChecksum(benchmark::State& state) {
  const auto bytes = payload(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    benchmark::DoNotOptimize(eccl::protocol::payloadChecksum(bytes));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_PayloadChecksum)->Arg(4 << 10)->Arg(64 << 10)->Arg(1 << 20);

// The receiver's view: reset, the payload in socket-read-sized pieces, digest.
// range(1) is the piece size; a piece as large as the payload is a single update.
void BM_StreamingChecksum(benchmark::State& state) {
  const auto bytes = payload(static_cast<size_t>(state.range(0)));
  const size_t piece = static_cast<size_t>(state.range(1));
  eccl::protocol::StreamingChecksum checksum;
  for (auto _ : state) {
    checksum.reset();
    for (size_t offset = 0; offset < bytes.size(); offset += piece) {
      checksum.update(std::span(bytes).subspan(offset, std::min(piece, bytes.size() - offset)));
    }
    benchmark::DoNotOptimize(checksum.digest());
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_StreamingChecksum)
    ->ArgNames({"bytes", "piece"})
    ->Args({4 << 10, 4 << 10})
    ->Args({64 << 10, 64 << 10})
    ->Args({1 << 20, 1 << 20})
    ->Args({1 << 20, 64 << 10});

// One piece of a shared-state entry (kHashPieceBytes), hashed on one thread.
void BM_ContentHashOnePiece(benchmark::State& state) {
  const auto bytes = payload(eccl::state::kHashPieceBytes);
  const std::span<const uint8_t> one[] = {bytes};
  for (auto _ : state) {
    benchmark::DoNotOptimize(eccl::state::contentHashes(one, 1));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes.size()));
}
BENCHMARK(BM_ContentHashOnePiece);

}  // namespace
