#include "transport/channel_options.h"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <string>

#include "src/protocol/frame.h"
#include "src/protocol/messages.h"
#include "transport/rdma/rdma_offer.h"
#include "transport/shm/shm_ring.h"

namespace eccl::transport {

Status ChannelOptions::validate() const {
  auto bad = [](const std::string& what) { return invalidArgument("channel options: " + what); };
  if (connections < 1 || connections > protocol::Hello::kMaxConnections) {
    return bad("connections must be 1.." + std::to_string(protocol::Hello::kMaxConnections) +
               ", got " + std::to_string(connections));
  }
  if (max_connections_for_rtt < 0 || max_connections_for_rtt > protocol::Hello::kMaxConnections) {
    return bad("max_connections_for_rtt must be 0.." +
               std::to_string(protocol::Hello::kMaxConnections) + ", got " +
               std::to_string(max_connections_for_rtt));
  }
  if (rtt_per_connection.count() <= 0) return bad("rtt_per_connection must be positive");
  if (chunk_bytes < 4096 || chunk_bytes > protocol::kMaxChunkPayload) {
    return bad("chunk_bytes must be 4 KiB..16 MiB, got " + std::to_string(chunk_bytes));
  }
  if (pool_bytes < chunk_bytes) return bad("pool_bytes must hold at least one chunk");
  if (shm_ring_bytes < shm::SegmentLayout::kMinRingBytes ||
      shm_ring_bytes > shm::SegmentLayout::kMaxRingBytes) {
    return bad("shm_ring_bytes must be 64 KiB..256 MiB, got " + std::to_string(shm_ring_bytes));
  }
  if (rdma_ring_bytes < rdma::kMinRingBytes || rdma_ring_bytes > rdma::kMaxRingBytes ||
      !std::has_single_bit(rdma_ring_bytes)) {
    return bad("rdma_ring_bytes must be a power of two, 64 KiB..1 GiB, got " +
               std::to_string(rdma_ring_bytes));
  }
  if (io_threads < 1 || io_threads > 64) return bad("io_threads must be 1..64");
  if (send_buffer < 0 || recv_buffer < 0) return bad("socket buffer sizes must be >= 0");
  if (connect_timeout.count() <= 0 || handshake_timeout.count() <= 0 || idle_timeout.count() <= 0) {
    return bad("timeouts must be positive");
  }
  if (keepalive_idle.count() < 1000 || keepalive_interval.count() < 1000 || keepalive_probes < 1) {
    return bad("keep-alive idle/interval must be >= 1 s and probes >= 1");
  }
  if (max_pending_handshakes < 1) return bad("max_pending_handshakes must be >= 1");
  if (max_pending_handshakes_per_host < 1) {
    return bad("max_pending_handshakes_per_host must be >= 1");
  }
  return Status::ok();
}

int ChannelOptions::connectionsForRoundTrip(std::chrono::microseconds rtt) const {
  if (max_connections_for_rtt <= connections || rtt.count() <= 0) return connections;
  // Rounded to the nearest: a delay line's jitter must not add a connection.
  const int64_t step = rtt_per_connection.count();
  const int64_t wanted = (rtt.count() + step / 2) / step;
  return static_cast<int>(std::clamp<int64_t>(wanted, connections, max_connections_for_rtt));
}

}  // namespace eccl::transport
