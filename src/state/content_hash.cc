#include "src/state/content_hash.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include "src/protocol/xxh3_path.h"

namespace eccl::state {

namespace {

// XXH3-128 on the ISA path ECCL_ISA names (every path gives the same bytes).
Hash128 xxh3_128(const void* data, size_t size, uint64_t seed) {
  Hash128 result;
  protocol::activeXxh3Path().hash128(data, size, seed, result.data());
  return result;
}

size_t pieceCount(size_t bytes) {
  return bytes <= kHashPieceBytes ? 1 : (bytes + kHashPieceBytes - 1) / kHashPieceBytes;
}

// The pieces' hashes, hashed again with the length as seed.
Hash128 combine(const std::vector<Hash128>& pieces, size_t bytes) {
  return xxh3_128(pieces.data(), pieces.size() * sizeof(Hash128), bytes);
}

}  // namespace

Hash128 contentHash(std::span<const uint8_t> bytes) {
  const std::span<const uint8_t> one[] = {bytes};
  return contentHashes(one, 1).front();
}

std::vector<Hash128> contentHashes(std::span<const std::span<const uint8_t>> buffers,
                                   unsigned threads) {
  // Work items: (buffer, piece); a whole small buffer is one item.
  struct Item {
    size_t buffer;
    size_t piece;
  };
  std::vector<Item> items;
  std::vector<std::vector<Hash128>> pieces(buffers.size());
  for (size_t b = 0; b < buffers.size(); ++b) {
    const size_t n = pieceCount(buffers[b].size());
    pieces[b].resize(n);
    for (size_t p = 0; p < n; ++p)
      items.push_back({b, p});
  }
  auto hashItem = [&](const Item& item) {
    std::span<const uint8_t> bytes = buffers[item.buffer];
    if (bytes.size() > kHashPieceBytes) {
      const size_t begin = item.piece * kHashPieceBytes;
      bytes = bytes.subspan(begin, std::min(kHashPieceBytes, bytes.size() - begin));
    }
    pieces[item.buffer][item.piece] = xxh3_128(bytes.data(), bytes.size(), 0);
  };

  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  threads = static_cast<unsigned>(std::min<size_t>(threads, items.size()));
  if (threads <= 1) {
    for (const Item& item : items)
      hashItem(item);
  } else {
    std::atomic<size_t> next{0};
    auto work = [&] {
      for (size_t i = next++; i < items.size(); i = next++)
        hashItem(items[i]);
    };
    std::vector<std::thread> pool;
    for (unsigned t = 1; t < threads; ++t)
      pool.emplace_back(work);
    work();
    for (auto& thread : pool)
      thread.join();
  }

  std::vector<Hash128> hashes(buffers.size());
  for (size_t b = 0; b < buffers.size(); ++b) {
    hashes[b] = buffers[b].size() <= kHashPieceBytes ? pieces[b].front()
                                                     : combine(pieces[b], buffers[b].size());
  }
  return hashes;
}

std::string hashHex(const Hash128& hash) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t byte : hash) {
    out += kDigits[byte >> 4];
    out += kDigits[byte & 15];
  }
  return out;
}

}  // namespace eccl::state
