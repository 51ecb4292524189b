#include "transport/shm/shm_ring.h"

#include <algorithm>
#include <atomic>
#include <cstring>

namespace eccl::transport::shm {
namespace {

template <typename T>
T load(T& field, std::memory_order order) {
  return std::atomic_ref<T>(field).load(order);
}

}  // namespace

template <typename T>
T ShmRing::observe(T& field) {
  const T value = std::atomic_ref<T>(field).load();
  sync_.acquire();
  return value;
}

template <typename T>
void ShmRing::publish(T& field, T value) {
  sync_.release();
  std::atomic_ref<T>(field).store(value);
}

// Takes the flag down; true when this call did (so exactly one side wakes the sleeper).
bool ShmRing::takeFlag(uint32_t& flag) {
  if (observe(flag) == 0) return false;
  sync_.release();
  const bool taken = std::atomic_ref<uint32_t>(flag).exchange(0) != 0;
  sync_.acquire();
  return taken;
}

uint64_t ShmRing::held(uint64_t tail, uint64_t head) {
  const uint64_t bytes = tail - head;
  if (bytes > capacity_) {
    corrupt_ = true;
    return ~uint64_t{0};
  }
  return bytes;
}

size_t ShmRing::write(std::span<const uint8_t> first, std::span<const uint8_t> second) {
  if (corrupt_) return 0;
  const uint64_t tail = load(control_->tail, std::memory_order_relaxed);
  const uint64_t head = observe(control_->head);
  const uint64_t bytes = held(tail, head);
  if (corrupt_) return 0;
  uint64_t room = capacity_ - bytes;
  uint64_t at = tail;
  for (std::span<const uint8_t> piece : {first, second}) {
    size_t from = 0;
    while (room > 0 && from < piece.size()) {
      const uint64_t offset = at % capacity_;
      const size_t n =
          static_cast<size_t>(std::min<uint64_t>({room, piece.size() - from, capacity_ - offset}));
      std::memcpy(data_ + offset, piece.data() + from, n);
      from += n;
      at += n;
      room -= n;
    }
  }
  if (at != tail) publish(control_->tail, at);  // seq_cst: ordered before takeReaderSleeping's load
  return static_cast<size_t>(at - tail);
}

bool ShmRing::hasRoom() {
  const uint64_t bytes =
      held(load(control_->tail, std::memory_order_relaxed), observe(control_->head));
  return corrupt_ || bytes < capacity_;
}

void ShmRing::sleepWriter() {
  publish(control_->writer_sleeping, uint32_t{1});
}

bool ShmRing::takeReaderSleeping() {
  return takeFlag(control_->reader_sleeping);
}

void ShmRing::closeWriter() {
  publish(control_->writer_closed, uint32_t{1});
}

size_t ShmRing::read(std::span<uint8_t> into) {
  if (corrupt_) return 0;
  const uint64_t head = load(control_->head, std::memory_order_relaxed);
  const uint64_t tail = observe(control_->tail);
  const uint64_t bytes = held(tail, head);
  if (corrupt_) return 0;
  uint64_t want = std::min<uint64_t>(bytes, into.size());
  uint64_t at = head;
  size_t to = 0;
  while (want > 0) {
    const uint64_t offset = at % capacity_;
    const size_t n = static_cast<size_t>(std::min<uint64_t>(want, capacity_ - offset));
    std::memcpy(into.data() + to, data_ + offset, n);
    to += n;
    at += n;
    want -= n;
  }
  if (at != head) publish(control_->head, at);  // seq_cst: ordered before takeWriterSleeping's load
  return to;
}

bool ShmRing::hasData() {
  const uint64_t bytes =
      held(observe(control_->tail), load(control_->head, std::memory_order_relaxed));
  return corrupt_ || bytes > 0 || observe(control_->writer_closed) != 0;
}

void ShmRing::sleepReader() {
  publish(control_->reader_sleeping, uint32_t{1});
}

bool ShmRing::takeWriterSleeping() {
  return takeFlag(control_->writer_sleeping);
}

bool ShmRing::writerClosed() {
  return observe(control_->writer_closed) != 0;
}

}  // namespace eccl::transport::shm

namespace eccl::transport::shm {
namespace {

// Version 2 added the doorbells: a peer of version 1 fails matches() and stays on TCP.
constexpr uint8_t kSegmentMagic[8] = {'E', 'C', 'C', 'L', 'S', 'E', 'G', '2'};
// Magic and ring size, then each side's doorbell on a cache line of its own.
constexpr size_t kLineBytes = 64;
constexpr size_t kHeaderBytes = 3 * kLineBytes;

}  // namespace

size_t SegmentLayout::bytes(uint64_t ring_bytes) {
  return kHeaderBytes + 2 * sizeof(RingControl) + 2 * static_cast<size_t>(ring_bytes);
}

void SegmentLayout::initialise(uint8_t* base, uint64_t ring_bytes) {
  std::memcpy(base, kSegmentMagic, sizeof(kSegmentMagic));
  std::memcpy(base + 8, &ring_bytes, sizeof(ring_bytes));
}

bool SegmentLayout::matches(const uint8_t* base, uint64_t ring_bytes) {
  uint64_t stored = 0;
  std::memcpy(&stored, base + 8, sizeof(stored));
  return std::memcmp(base, kSegmentMagic, sizeof(kSegmentMagic)) == 0 && stored == ring_bytes;
}

uint32_t& SegmentLayout::doorbell(uint8_t* base, int side) {
  return *reinterpret_cast<uint32_t*>(base + kLineBytes * (1 + static_cast<size_t>(side)));
}

ShmRing SegmentLayout::ring(uint8_t* base, uint64_t ring_bytes, int direction,
                            std::string_view segment_name) {
  auto* controls = reinterpret_cast<RingControl*>(base + kHeaderBytes);
  uint8_t* data = base + kHeaderBytes + 2 * sizeof(RingControl) +
                  static_cast<size_t>(direction) * static_cast<size_t>(ring_bytes);
  return ShmRing(&controls[direction], data, ring_bytes, MappingSync(segment_name, direction));
}

}  // namespace eccl::transport::shm
