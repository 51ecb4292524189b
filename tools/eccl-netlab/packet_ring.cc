#include "tools/eccl-netlab/packet_ring.h"

namespace eccl::tools::netlab {

namespace {
// The smallest packet kept: a vnet header and an IPv4 header.
constexpr size_t kSmallestPacket = 30;
}  // namespace

PacketRing::PacketRing(size_t byte_capacity, size_t max_packet)
    : bytes_(byte_capacity + 2 * max_packet),
      packets_(bytes_.size() / kSmallestPacket + 1),
      max_packet_(max_packet) {}

uint8_t* PacketRing::reserve() {
  if (count_ == packets_.size()) return nullptr;
  if (count_ == 0) {
    head_offset_ = tail_offset_ = 0;
  }
  if (count_ == 0 || tail_offset_ > head_offset_) {
    // Data lies in [head, tail): room after tail, else wrap to the start.
    if (bytes_.size() - tail_offset_ >= max_packet_) {
      reserved_offset_ = tail_offset_;
    } else if (head_offset_ > max_packet_) {
      reserved_offset_ = 0;
    } else {
      return nullptr;
    }
  } else {
    // Wrapped: data lies in [head, end) and [0, tail).
    if (head_offset_ - tail_offset_ <= max_packet_) return nullptr;
    reserved_offset_ = tail_offset_;
  }
  return bytes_.data() + reserved_offset_;
}

void PacketRing::commit(uint32_t length, int64_t due_ns, int destination) {
  const size_t index = (head_index_ + count_) % packets_.size();
  packets_[index] = {static_cast<uint32_t>(reserved_offset_), length, due_ns, destination};
  if (count_ == 0) head_offset_ = reserved_offset_;
  tail_offset_ = reserved_offset_ + length;
  ++count_;
}

void PacketRing::pop() {
  head_index_ = (head_index_ + 1) % packets_.size();
  --count_;
  if (count_ > 0) head_offset_ = packets_[head_index_].offset;
}

}  // namespace eccl::tools::netlab
