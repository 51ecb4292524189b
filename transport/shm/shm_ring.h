// A single-producer, single-consumer byte ring in shared memory: one
// direction of a shared-memory connection.
//
// The writer owns `tail`, the reader owns `head` (both count bytes since the
// start, so tail - head is what the ring holds). A side that finds nothing to
// do raises its sleeping flag and checks once more; the other side, after
// moving its index, looks at that flag and, when it was raised, takes it down
// and rings the sleeper's doorbell. Both steps are sequentially consistent,
// so at least one of them sees the other: no wake-up is lost, and nobody
// spins while idle. A doorbell can come for bytes the sleeper had already
// taken (its flag went up between the other side's index store and its look
// at the flag), so a sleeper that wakes to nothing raises its flag again
// before it checks and sleeps.
//
// The other process is trusted no further than the ring's bounds: indices
// that claim more than the ring holds mark the ring corrupt, and no copy ever
// leaves it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "transport/shm/mapping_sync.h"

namespace eccl::transport::shm {

struct alignas(64) RingControl {
  alignas(64) uint64_t tail;  // writer: bytes written so far
  alignas(64) uint64_t head;  // reader: bytes consumed so far
  alignas(64) uint32_t reader_sleeping;
  uint32_t writer_sleeping;
  uint32_t writer_closed;  // the writer sends nothing more (a FIN)
};

class ShmRing {
 public:
  ShmRing() = default;
  ShmRing(RingControl* control, uint8_t* data, uint64_t capacity, MappingSync sync = {})
      : control_(control), data_(data), capacity_(capacity), sync_(sync) {}

  // Writer side. Copies what fits of first then second; 0 when full.
  size_t write(std::span<const uint8_t> first, std::span<const uint8_t> second);
  bool hasRoom();
  void sleepWriter();
  // True when the reader slept and the caller must ring its doorbell.
  bool takeReaderSleeping();
  void closeWriter();

  // Reader side. Copies what the ring holds, up to into.size(); 0 when empty.
  size_t read(std::span<uint8_t> into);
  bool hasData();
  void sleepReader();
  bool takeWriterSleeping();
  bool writerClosed();

  // The other side broke the ring's invariants (a bug or a hostile process).
  bool corrupt() const { return corrupt_; }

 private:
  // Bytes the ring holds, or nullopt-like ~0 when the indices are impossible.
  uint64_t held(uint64_t tail, uint64_t head);
  // Loads and stores of what the other side owns or reads (seq_cst), told to TSan.
  template <typename T>
  T observe(T& field);
  template <typename T>
  void publish(T& field, T value);
  bool takeFlag(uint32_t& flag);

  RingControl* control_ = nullptr;
  uint8_t* data_ = nullptr;
  uint64_t capacity_ = 0;
  MappingSync sync_;
  bool corrupt_ = false;
};

}  // namespace eccl::transport::shm

namespace eccl::transport::shm {

// A connection's segment: a header, then each direction's control block and
// data. Direction 0 carries the client's bytes, direction 1 the server's.
struct SegmentLayout {
  static constexpr uint64_t kMinRingBytes = uint64_t{64} << 10;
  static constexpr uint64_t kMaxRingBytes = uint64_t{256} << 20;

  static size_t bytes(uint64_t ring_bytes);
  // Writes the header of a fresh segment.
  static void initialise(uint8_t* base, uint64_t ring_bytes);
  // Whether a mapped segment is one made with these ring sizes.
  static bool matches(const uint8_t* base, uint64_t ring_bytes);
  // `segment_name` is the segment's (ShmSegment::name): see mapping_sync.h.
  static ShmRing ring(uint8_t* base, uint64_t ring_bytes, int direction,
                      std::string_view segment_name);
  // The word side 0 (the client) or 1 (the server) sleeps on (doorbell.h).
  static uint32_t& doorbell(uint8_t* base, int side);
};

}  // namespace eccl::transport::shm
