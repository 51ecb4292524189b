#include "tools/eccl-netlab/delay_line.h"

#include <poll.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "tools/eccl-netlab/tun_device.h"

namespace eccl::tools::netlab {
namespace {

// struct virtio_net_hdr (linux/virtio_net.h does not compile as C++: a field is
// named `class`), in host byte order as TUN uses it by default.
struct VnetHeader {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
static_assert(sizeof(VnetHeader) == kVnetHeaderBytes);
constexpr uint8_t kGsoTcpV4 = 1;  // VIRTIO_NET_HDR_GSO_TCPV4

// A 64 KiB GSO packet and its vnet header.
constexpr size_t kMaxPacket = kVnetHeaderBytes + 65536;
constexpr int kReadBatch = 64;
constexpr int64_t kIdleWaitNs = 100'000'000;

int64_t nowNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

// Packet bytes the ring must hold: everything in the queue plus everything in
// flight for the delay, with room for the stored headers of small packets.
size_t ringBytes(const LabSpec& spec) {
  const double in_flight =
      static_cast<double>(spec.rate_bps) / 8.0 * static_cast<double>(spec.delay.count()) / 1e6;
  const double queued = static_cast<double>(queueLimitBytes(spec));
  return static_cast<size_t>((in_flight + queued) * 1.5) + 4 * kMaxPacket;
}

}  // namespace

uint64_t wireBytes(const uint8_t* packet, size_t length) {
  if (length <= kVnetHeaderBytes) return 0;
  VnetHeader header{};
  std::memcpy(&header, packet, sizeof(header));
  const uint8_t* ip = packet + kVnetHeaderBytes;
  const size_t ip_length = length - kVnetHeaderBytes;
  const bool tcp4 = (header.gso_type & 0x7f) == kGsoTcpV4 && ip_length >= 40;
  if (!tcp4 || header.gso_size == 0) return ip_length;
  // IPv4 header + TCP header repeat in front of every segment.
  const size_t ip_header = static_cast<size_t>(ip[0] & 0x0f) * 4;
  if (ip_header + 20 > ip_length) return ip_length;
  const size_t headers = ip_header + static_cast<size_t>(ip[ip_header + 12] >> 4) * 4;
  if (headers >= ip_length) return ip_length;
  const size_t payload = ip_length - headers;
  const size_t segments = (payload + header.gso_size - 1) / header.gso_size;
  return payload + segments * headers;
}

DirectionPump::DirectionPump(const LabSpec& spec, std::vector<int> tun_fds, int source)
    : tun_fds_(std::move(tun_fds)),
      source_(source),
      hosts_(spec.hosts),
      rate_bps_(spec.rate_bps),
      delay_ns_(spec.delay.count() * 1000),
      queue_limit_bytes_(queueLimitBytes(spec)),
      ring_(ringBytes(spec), kMaxPacket) {}

void DirectionPump::admit(uint8_t* packet, size_t length, int64_t now_ns) {
  const uint8_t* ip = packet + kVnetHeaderBytes;
  if (length < kVnetHeaderBytes + 20 || (ip[0] >> 4) != 4) {
    counters_.unroutable_drops.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const uint32_t destination_address = (uint32_t{ip[16]} << 24) | (uint32_t{ip[17]} << 16) |
                                       (uint32_t{ip[18]} << 8) | uint32_t{ip[19]};
  const int destination = hostOfAddress(destination_address, hosts_);
  if (destination < 0 || destination == source_) {
    counters_.unroutable_drops.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  // The queue is what the link has not serialised yet: tail-drop past the limit.
  const uint64_t wire = wireBytes(packet, length);
  link_free_ns_ = std::max(link_free_ns_, now_ns);
  const auto backlog_bytes = static_cast<uint64_t>(static_cast<double>(link_free_ns_ - now_ns) *
                                                   static_cast<double>(rate_bps_) / 8e9);
  if (backlog_bytes + wire > queue_limit_bytes_) {
    counters_.queue_drops.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  link_free_ns_ += static_cast<int64_t>(wire * 8'000'000'000ull / rate_bps_);
  ring_.commit(static_cast<uint32_t>(length), link_free_ns_ + delay_ns_, destination);
  counters_.packets.fetch_add(1, std::memory_order_relaxed);
  counters_.wire_bytes.fetch_add(wire, std::memory_order_relaxed);
}

bool DirectionPump::readBatch() {
  for (int i = 0; i < kReadBatch; ++i) {
    uint8_t* slot = ring_.reserve();
    if (slot == nullptr) return true;  // full: leave the rest queued in the kernel
    const ssize_t got = read(tun_fds_[source_], slot, kMaxPacket);
    if (got < 0) return false;  // EAGAIN (or the device went away): wait
    admit(slot, static_cast<size_t>(got), nowNs());
  }
  return true;
}

void DirectionPump::deliverDue(int64_t now_ns) {
  while (!ring_.empty() && ring_.front().due_ns <= now_ns) {
    const PacketRing::Packet& packet = ring_.front();
    if (write(tun_fds_[packet.destination], ring_.data(packet), packet.length) < 0) {
      counters_.write_errors.fetch_add(1, std::memory_order_relaxed);
    }
    ring_.pop();
  }
}

void DirectionPump::waitForWork(bool input_pending) {
  const int64_t now = nowNs();
  int64_t wait_ns = ring_.empty() ? kIdleWaitNs : std::max<int64_t>(ring_.front().due_ns - now, 0);
  wait_ns = std::min(wait_ns, kIdleWaitNs);
  if (input_pending && wait_ns > 0) wait_ns = 0;
  if (wait_ns == 0 && input_pending) return;
  const timespec timeout{static_cast<time_t>(wait_ns / 1'000'000'000),
                         static_cast<long>(wait_ns % 1'000'000'000)};
  // Poll the TUN only while the ring has room; else just sleep until the next departure.
  pollfd entry{tun_fds_[source_], POLLIN, 0};
  const bool room = ring_.reserve() != nullptr;
  ppoll(&entry, room ? 1 : 0, &timeout, nullptr);
}

void DirectionPump::run(const std::atomic<bool>& stop) {
  while (!stop.load(std::memory_order_relaxed)) {
    deliverDue(nowNs());
    const bool input_pending = readBatch();
    deliverDue(nowNs());
    waitForWork(input_pending && ring_.reserve() != nullptr);
  }
}

}  // namespace eccl::tools::netlab
