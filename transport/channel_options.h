// Tunables of a transport endpoint and of the channels it makes.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>

#include "src/common/status.h"
#include "transport/fault_spec.h"

namespace eccl::transport {

namespace auth {
class ClusterSecret;
}
namespace tls {
class TlsContext;
}
namespace rdma {
class QueuePairFactory;
}

// Which data channels use TLS when the process has certificates.
enum class TlsData {
  kBeyondLoopback,  // channels to peers beyond the loopback interface (default)
  kAlways,
  kNever,  // the control plane still uses TLS
};

// Which transport a data connection uses (ECCL_TRANSPORT).
enum class TransportChoice {
  // Shared memory with peers on this host; RDMA with the others when both
  // ends have a port that reaches the other's and the connection is not TLS;
  // TCP otherwise (the default).
  kAuto,
  kTcp,   // TCP always
  kShm,   // shared memory or TCP, with a warning for every connection that cannot use shared memory
  kRdma,  // RDMA or TCP (no shared memory), with a warning for every connection left on TCP
};

using std::chrono::milliseconds;

struct ChannelOptions {
  // K: TCP connections per channel on a short link.
  int connections = 4;
  // A long link gets more by itself, since with default socket buffers each
  // connection keeps about one window in flight (PERFORMANCE.md: 1 stream =
  // 51 % of a 50 ms link). The connecting side reads the round trip its first
  // connection's TCP handshake took and opens one connection per
  // `rtt_per_connection` of it (to the nearest), never fewer than
  // `connections` nor more than `max_connections_for_rtt` (0: exactly
  // `connections` on every link). Netlab wan:1gbit:50ms, N = 2, 256 MiB: 4
  // connections reached 89 % of iperf3's 8-stream ceiling, 8 reached 100 %.
  std::chrono::microseconds rtt_per_connection{6'250};
  int max_connections_for_rtt = 16;
  // K for a link whose handshake took `rtt` (see above).
  int connectionsForRoundTrip(std::chrono::microseconds rtt) const;
  // Messages are cut into chunks of this size; each idle connection takes the next one.
  uint32_t chunk_bytes = 1u << 20;
  // Bytes this endpoint keeps for chunks of streams it has not posted yet. The
  // peer may send that much without waiting for a credit round trip.
  uint64_t pool_bytes = 32u << 20;
  // TCP_NOTSENT_LOWAT: unsent bytes a socket may hold before it stops counting
  // as writable, so that "has room" means the socket is really draining.
  // Higher lets a slow socket sit on chunks others could take: at 1 Gbit/s a
  // MiB is 8 ms of one flow's share, and K flows sharing a link unevenly then
  // end a step unevenly (netlab lan:1gbit, N = 4, 16 MiB: 240 ms per op at
  // 1 MiB, 224 at 256 KiB, the wire's ideal 211). Lower costs CPU (more
  // wake-ups): 256 KiB took 2-8 % more CPU-s/GB over TCP than 1 MiB, and moved
  // neither loopback TCP nor the 50 ms WAN lab's throughput.
  uint32_t notsent_lowat = 256u << 10;
  // SO_RCVLOWAT while a frame is part-read: the reader sleeps until the rest
  // of it, up to this many bytes, has arrived (never for more than the frame
  // still owes, so no wait outlasts the frame). At 1 Gbit/s a segment comes
  // every 12 us, and a wake-up for each cost more CPU than the bytes; 64 KiB
  // is 0.5 ms there. 1 wakes the reader for every arrival. A socket caps it
  // at a quarter of its receive buffer (Linux clamps the window to a larger mark).
  uint32_t read_low_water = 64u << 10;
  // SO_SNDBUF / SO_RCVBUF; 0 leaves the kernel's autotuning on.
  int send_buffer = 0;
  int recv_buffer = 0;
  // Re-send a late tail chunk on an idle connection when the rest of its
  // message is written and at least this much of it is still unwritten.
  bool hedge_tail_chunks = true;
  uint32_t hedge_min_bytes = 128u << 10;
  // XXH3-64 checksum on every frame (data-plane integrity without TLS): on
  // every channel with `checksum`, on channels to a peer beyond the loopback
  // interface with `checksum_beyond_loopback` (a bit flipped by a router or a
  // bad NIC fails the op instead of changing the sum). A bad frame fails its
  // connection, so the op ends with an error on every member.
  bool checksum = false;
  bool checksum_beyond_loopback = true;
  // The cluster's shared secret (ECCL_SECRET_FILE): with one, every connection
  // starts with a challenge-response proving both ends hold it
  // (transport/auth/); a connection that fails it never carries a frame.
  std::shared_ptr<const auth::ClusterSecret> secret;
  // This process's TLS certificates (ECCL_TLS_CA/CERT/KEY): with them the
  // connection to the master is TLS 1.3 with mutual authentication, and so are
  // the data channels `tls_data` picks (transport/tls/). Every peer of a
  // cluster must use the same `tls_data`: both ends of a channel decide alone.
  std::shared_ptr<const tls::TlsContext> tls;
  TlsData tls_data = TlsData::kBeyondLoopback;
  // Whether applyChannelEnvironment fills a null secret and tls, and tls_data,
  // from ECCL_SECRET_FILE, ECCL_TLS_* and ECCL_TLS_DATA. False when the caller
  // decided them (the C API's config fields, which ...ConfigInit filled from
  // the same variables).
  bool security_from_environment = true;
  // Shared memory between peers on one host (transport/shm): each of a
  // channel's connections then moves its bytes through a ring per direction
  // of shm_ring_bytes (the listening side's setting wins). Both ends must
  // allow it; a connection that cannot set it up stays on TCP.
  TransportChoice transport = TransportChoice::kAuto;
  // False where `transport` was set by a config that already read
  // ECCL_TRANSPORT (the C API's): the environment then does not override it.
  bool transport_from_environment = true;
  uint64_t shm_ring_bytes = 4u << 20;
  // Over RDMA (transport/rdma) each connection is a queue pair with a receive
  // ring of this size (a power of two, 64 KiB to 1 GiB) each way: the bytes a
  // writer may have in flight before the reader credits room back.
  uint64_t rdma_ring_bytes = 2u << 20;
  // Where the queue pairs come from; null: this machine's first usable RDMA
  // port (rdma/verbs_queue_pair.h), when there is one. Tests put an
  // in-process fabric here.
  std::shared_ptr<rdma::QueuePairFactory> rdma_queue_pairs;
  // The GID table entry of that port to use (ECCL_RDMA_GID_INDEX); none: chosen
  // as rdma/rdma_device.h says.
  std::optional<uint32_t> rdma_gid_index;
  // Faults injected into the data plane (ECCL_FAULTS); null: none.
  std::shared_ptr<const FaultSpec> faults;
  // Threads running the endpoint's I/O (ECCL_IO_THREADS), each polling its
  // own share of the connections (transport/io_pool.h). Two let the kernel's
  // copies of different connections overlap (loopback, 16 connections:
  // 34 -> 42 Gbit/s).
  int io_threads = 2;

  milliseconds connect_timeout{10'000};
  milliseconds handshake_timeout{10'000};
  // A connection that receives nothing for this long fails its channel. Idle
  // connections exchange pings at a quarter of it, so only a dead, frozen or
  // black-holed peer trips it.
  milliseconds idle_timeout{20'000};
  // TCP keep-alive and TCP_USER_TIMEOUT: the kernel's half-open detection.
  milliseconds keepalive_idle{5'000};
  milliseconds keepalive_interval{1'000};
  int keepalive_probes = 5;
  milliseconds user_timeout{30'000};
  // Listener limit on connections that have not finished their handshake;
  // and on those from one IP address, so that one host cannot lock others out.
  int max_pending_handshakes = 1024;
  int max_pending_handshakes_per_host = 64;

  Status validate() const;
};

}  // namespace eccl::transport
