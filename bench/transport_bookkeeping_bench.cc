// The TCP transport's pure bookkeeping, without sockets: how many chunks per
// second the send queue and the receive table can hand out and account for.
// Both only pass pointers into the caller's buffer, so the 256 MiB messages
// here are address space nobody may touch (PROT_NONE): a stray access faults.
#include <benchmark/benchmark.h>
#include <sys/mman.h>

#include <array>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "transport/tcp/recv_table.h"
#include "transport/tcp/send_queue.h"

namespace {

using eccl::Status;
using eccl::transport::tcp::ChunkAssignment;
using eccl::transport::tcp::ChunkRef;
using eccl::transport::tcp::ChunkTarget;
using eccl::transport::tcp::Effects;

constexpr uint64_t kMessageBytes = uint64_t{256} << 20;
constexpr uint32_t kChunkBytes = 1u << 20;
constexpr int kConnections = 4;
constexpr uint64_t kChunksPerMessage = kMessageBytes / kChunkBytes;

class UntouchableBuffer {
 public:
  explicit UntouchableBuffer(size_t size) : size_(size) {
    void* mapped =
        mmap(nullptr, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    data_ = mapped == MAP_FAILED ? nullptr : static_cast<uint8_t*>(mapped);
  }
  ~UntouchableBuffer() {
    if (data_ != nullptr) munmap(data_, size_);
  }
  UntouchableBuffer(const UntouchableBuffer&) = delete;
  UntouchableBuffer& operator=(const UntouchableBuffer&) = delete;

  bool ok() const { return data_ != nullptr; }
  std::span<uint8_t> span() const { return {data_, size_}; }

 private:
  uint8_t* data_ = nullptr;
  size_t size_;
};

void reportRates(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kChunksPerMessage));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kMessageBytes));
}

// One 256 MiB message per iteration through a long-lived SendQueue: each of
// 4 connections takes a chunk with next(), then all of them report it written.
// range(0) = 0: the receiver's Credit is there first; 1: the message starts on
// the eager pool budget and the Credit arrives when that is spent.
void BM_SendQueueDrain(benchmark::State& state) {
  const bool eager_first = state.range(0) != 0;
  UntouchableBuffer buffer(kMessageBytes);
  if (!buffer.ok()) {
    state.SkipWithError("mmap of the message's address space failed");
    return;
  }
  eccl::transport::tcp::SendQueueConfig config;
  config.chunk_bytes = kChunkBytes;
  eccl::transport::tcp::SendQueue queue(config);
  // Nothing is ever half-written here, so no tail chunk is worth a hedge copy.
  const eccl::transport::tcp::SendQueue::LateBytesFn nothing_unwritten = [](int) {
    return uint64_t{0};
  };
  Effects effects;
  std::vector<std::pair<int, ChunkRef>> detach;
  std::array<std::optional<ChunkAssignment>, kConnections> in_flight;
  uint64_t stream = 0;
  int64_t completed = 0;
  Status error;

  for (auto _ : state) {
    ++stream;
    queue.enqueue(
        stream, buffer.span(), [&completed](Status s) { completed += s.isOk() ? 1 : 0; }, effects);
    bool credited = false;
    auto credit = [&] {
      Status s = queue.onCredit({stream, kMessageBytes}, effects, detach);
      if (!s) error = s;
      credited = true;
    };
    if (!eager_first) credit();
    uint64_t eager_bytes = 0;
    uint64_t message = 0;  // the queue's number for it, as chunk headers carry it
    while (true) {
      int assigned = 0;
      for (int c = 0; c < kConnections; ++c) {
        in_flight[c] = queue.next(c, nothing_unwritten);
        if (!in_flight[c]) continue;
        ++assigned;
        message = in_flight[c]->header.message;
        if (in_flight[c]->eager)
          eager_bytes += eccl::transport::tcp::poolCharge(in_flight[c]->length);
      }
      for (int c = 0; c < kConnections; ++c) {
        if (in_flight[c]) queue.onWritten(c, in_flight[c]->ref(), true, effects, detach);
      }
      if (assigned > 0) continue;
      if (credited) break;
      credit();  // the eager budget is spent; the receiver posts now
    }
    // The receiver placed the eager chunks in its posted buffer and returns the
    // pool, then reports the message delivered (which completes the send).
    if (eager_bytes > 0) {
      Status s = queue.onPoolCredit(eager_bytes);
      if (!s) error = s;
    }
    Status delivered = queue.onDelivered(message, effects);
    if (!delivered) error = delivered;
    effects.runCallbacks();
    effects.credits.clear();
    effects.stream_errors.clear();
  }
  if (!error.isOk()) state.SkipWithError(error.toString().c_str());
  if (completed != static_cast<int64_t>(state.iterations()) || queue.liveMessages() != 0) {
    state.SkipWithError("not every message completed");
  }
  state.counters["eager_chunks_per_msg"] = benchmark::Counter(
      static_cast<double>(queue.stats().eager_chunks) / static_cast<double>(stream));
  reportRates(state);
}
BENCHMARK(BM_SendQueueDrain)->ArgName("eager_first")->Arg(0)->Arg(1);

// The receiving side of the same: post a 256 MiB buffer, then per chunk
// beginChunk (where the payload goes) and endChunk, 4 chunks in flight at a time.
void BM_RecvTablePlace(benchmark::State& state) {
  UntouchableBuffer buffer(kMessageBytes);
  if (!buffer.ok()) {
    state.SkipWithError("mmap of the message's address space failed");
    return;
  }
  eccl::transport::tcp::RecvTableConfig config;
  config.peer_chunk_bytes = kChunkBytes;
  eccl::transport::tcp::RecvTable table(config);
  Effects effects;
  std::array<ChunkTarget, kConnections> reading;
  uint64_t message = 0;
  int64_t completed = 0;
  Status error;

  eccl::protocol::FrameHeader frame;
  frame.type = eccl::protocol::MessageType::kChunk;
  frame.length = static_cast<uint32_t>(eccl::protocol::ChunkHeader::kEncodedSize + kChunkBytes);

  for (auto _ : state) {
    ++message;
    const uint64_t stream = message;
    Status posted = table.post(
        stream, buffer.span(), [&completed](Status s) { completed += s.isOk() ? 1 : 0; }, effects);
    if (!posted) error = posted;
    for (uint64_t first = 0; first < kChunksPerMessage; first += kConnections) {
      for (int c = 0; c < kConnections; ++c) {
        const uint64_t seq = first + static_cast<uint64_t>(c);
        eccl::protocol::ChunkHeader chunk;
        chunk.stream = stream;
        chunk.message = message;
        chunk.offset = seq * kChunkBytes;
        chunk.total = kMessageBytes;
        chunk.seq = static_cast<uint32_t>(seq);
        auto target = table.beginChunk(frame, chunk, effects);
        if (!target) {
          error = target.status();
          reading[c] = ChunkTarget{};
          continue;
        }
        reading[c] = *target;
      }
      for (int c = 0; c < kConnections; ++c) {
        Status ended = table.endChunk(reading[c], effects);
        if (!ended) error = ended;
      }
    }
    effects.runCallbacks();
    effects.credits.clear();
    effects.delivered.clear();
    effects.pool_credit = 0;
  }
  if (!error.isOk()) state.SkipWithError(error.toString().c_str());
  if (completed != static_cast<int64_t>(state.iterations()) || table.activeMessages() != 0) {
    state.SkipWithError("not every message completed");
  }
  reportRates(state);
}
BENCHMARK(BM_RecvTablePlace);

}  // namespace
