// The WAN link model, one direction per egress host: packets the host sends
// (read from its TUN) are serialised at the link rate behind a tail-drop queue,
// held for the one-way delay, then written to the TUN of the host that owns
// the destination address.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "tools/eccl-netlab/lab_spec.h"
#include "tools/eccl-netlab/packet_ring.h"

namespace eccl::tools::netlab {

struct DirectionCounters {
  std::atomic<uint64_t> packets{0};
  std::atomic<uint64_t> wire_bytes{0};
  std::atomic<uint64_t> queue_drops{0};       // tail drops: the queue was full
  std::atomic<uint64_t> unroutable_drops{0};  // not IPv4, or not to another lab host
  std::atomic<uint64_t> write_errors{0};
};

class DirectionPump {
 public:
  // tun_fds[i]: host i's TUN (non-blocking); this pump reads tun_fds[source].
  DirectionPump(const LabSpec& spec, std::vector<int> tun_fds, int source);

  // Forwards until `stop` is set (noticed within 100 ms).
  void run(const std::atomic<bool>& stop);
  const DirectionCounters& counters() const { return counters_; }

 private:
  // Reads up to a batch of packets; false once the TUN has nothing more now.
  bool readBatch();
  void admit(uint8_t* packet, size_t length, int64_t now_ns);
  void deliverDue(int64_t now_ns);
  void waitForWork(bool input_pending);

  const std::vector<int> tun_fds_;
  const int source_;
  const int hosts_;
  const uint64_t rate_bps_;
  const int64_t delay_ns_;
  const uint64_t queue_limit_bytes_;
  int64_t link_free_ns_ = 0;  // when the link has serialised everything admitted so far
  PacketRing ring_;
  DirectionCounters counters_;
};

// Bytes a packet takes on the wire: an offloaded TCP segment of 64 KiB counts
// as the MSS-sized packets it stands for, each with its own headers.
uint64_t wireBytes(const uint8_t* packet, size_t length);

}  // namespace eccl::tools::netlab
