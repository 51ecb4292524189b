// Packets waiting in one direction of the delay line, in arrival order, in one
// preallocated byte ring (no allocation per packet). Packets are read straight
// into the ring and leave it in the order they came.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace eccl::tools::netlab {

class PacketRing {
 public:
  struct Packet {
    uint32_t offset = 0;
    uint32_t length = 0;
    int64_t due_ns = 0;  // when it leaves the delay line
    int destination = 0;
  };

  // byte_capacity: bytes of packet data it can hold; max_packet: the largest one.
  PacketRing(size_t byte_capacity, size_t max_packet);

  // Room for one packet of up to max_packet bytes at the write position, or
  // nullptr while the ring is full. Valid until the next commit() or pop().
  uint8_t* reserve();
  // Keeps `length` bytes written at the last reserve().
  void commit(uint32_t length, int64_t due_ns, int destination);

  bool empty() const { return count_ == 0; }
  const Packet& front() const { return packets_[head_index_]; }
  const uint8_t* data(const Packet& packet) const { return bytes_.data() + packet.offset; }
  void pop();

 private:
  std::vector<uint8_t> bytes_;
  std::vector<Packet> packets_;  // a ring of descriptors
  size_t max_packet_;
  size_t head_index_ = 0;
  size_t count_ = 0;
  size_t head_offset_ = 0;  // data of the oldest packet
  size_t tail_offset_ = 0;  // where the next packet goes (or wrapped to 0)
  size_t reserved_offset_ = 0;
};

}  // namespace eccl::tools::netlab
