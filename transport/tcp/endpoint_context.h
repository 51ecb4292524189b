// What every connector, acceptor and channel of one TCP endpoint shares: the
// I/O threads, the options, the endpoint's id, and the registry of live
// objects that the endpoint stops when it shuts down.
#pragma once

#include <asio/io_context.hpp>
#include <memory>
#include <mutex>
#include <vector>

#include "src/common/endpoint_id.h"
#include "src/common/log.h"
#include "src/common/status.h"
#include "transport/auth/auth_stream.h"
#include "transport/channel_options.h"
#include "transport/io_pool.h"
#include "transport/rdma/rdma_negotiation.h"
#include "transport/rdma/verbs_queue_pair.h"
#include "transport/secure_stream.h"
#include "transport/shm/shm_stream.h"
#include "transport/tcp/faulty_stream.h"

namespace eccl::transport::tcp {

// Over shared memory a channel's data goes through its first connection only
// (more rings on one host add wake-ups, not bandwidth); the connections after
// it ping only, so they ask for the smallest rings.
inline constexpr int kWorkingConnectionsOverSharedMemory = 1;

// Something with connections that a shutting-down endpoint must stop.
class Stoppable {
 public:
  virtual ~Stoppable() = default;
  virtual void shutdown(Status reason) = 0;
  // True once no connection of this object does I/O any more.
  virtual bool quiesced() const = 0;
};

struct EndpointContext {
  EndpointContext(IoPool& io_pool, ChannelOptions channel_options, EndpointId endpoint)
      : io(io_pool.primary()), pool(io_pool), options(std::move(channel_options)), id(endpoint) {
    if (options.faults && options.faults->any()) {
      faults = std::make_shared<FaultInjector>(*options.faults);
    }
    findRdmaQueuePairs();
  }

  // The stream a new connection uses: secured as configured (secure_stream.h;
  // TLS as options.tls_data says for this peer's address), then moved to
  // shared memory when both ends are on this host and allow it
  // (shm_stream.h), or else to RDMA when both ends can and the connection is
  // not TLS (rdma_negotiation.h), behind the fault injector if any (which
  // then sees frames only, as without security, shared memory or RDMA).
  // `index`: the client's connection index in its channel (unknown, -1, to a server).
  Result<std::unique_ptr<ByteStream>> stream(asio::ip::tcp::socket socket, auth::Side side,
                                             int index = -1) {
    const bool tls = usesTls(socket);
    auto secured =
        secureStream(std::move(socket), side, tls ? options.tls : nullptr, options.secret);
    if (!secured) return secured;
    shm::ShmSettings shm;
    shm.allow =
        options.transport != TransportChoice::kTcp && options.transport != TransportChoice::kRdma;
    shm.insist = options.transport == TransportChoice::kShm;
    shm.ring_bytes = options.shm_ring_bytes;
    shm.spare = index >= kWorkingConnectionsOverSharedMemory;
    rdma::RdmaSettings rdma;
    rdma.insist = options.transport == TransportChoice::kRdma;
    rdma.ring_bytes = options.rdma_ring_bytes;
    if (tls) {
      rdma.unavailable = "its data is TLS-encrypted, which RDMA writes would bypass";
    } else {
      rdma.queue_pairs = rdma_queue_pairs;
      rdma.unavailable = rdma_unavailable;
    }
    const std::string remote = (*secured)->remoteAddress();
    std::unique_ptr<ByteStream> stream = std::make_unique<shm::ShmStream>(
        std::move(*secured),
        side == auth::Side::kClient ? shm::ShmRole::kClient : shm::ShmRole::kServer, shm,
        std::make_unique<rdma::RdmaNegotiation>(std::move(rdma), remote));
    if (!faults) return stream;
    return faults->wrap(std::move(stream));
  }

  // The queue pairs this endpoint's connections offer and accept: the
  // options' own, or this machine's first usable RDMA port. None with
  // ECCL_TRANSPORT=tcp|shm or without a device (rdma_unavailable says why).
  void findRdmaQueuePairs() {
    if (options.transport == TransportChoice::kTcp || options.transport == TransportChoice::kShm) {
      return;
    }
    if (options.rdma_queue_pairs) {
      rdma_queue_pairs = options.rdma_queue_pairs;
      return;
    }
    auto found = rdma::sharedVerbsQueuePairs(options.rdma_gid_index);
    if (found) {
      rdma_queue_pairs = std::move(*found);
      return;
    }
    rdma_unavailable = found.status().message();
    if (options.transport == TransportChoice::kRdma) {
      ECCL_LOG_WARN("ECCL_TRANSPORT=rdma, but this machine offers no RDMA: {}", rdma_unavailable);
    }
  }

  // Both ends of a channel decide alone, from what each sees of the other.
  bool usesTls(const asio::ip::tcp::socket& socket) const {
    if (!options.tls) return false;
    switch (options.tls_data) {
      case TlsData::kAlways:
        return true;
      case TlsData::kNever:
        return false;
      case TlsData::kBeyondLoopback:
        break;
    }
    std::error_code ec;
    const asio::ip::address remote = socket.remote_endpoint(ec).address();
    if (ec) return true;
    if (remote.is_v6() && remote.to_v6().is_v4_mapped()) {
      return !asio::ip::make_address_v4(asio::ip::v4_mapped, remote.to_v6()).is_loopback();
    }
    return !remote.is_loopback();
  }

  void track(const std::shared_ptr<Stoppable>& object) {
    std::lock_guard lock(mu);
    // Drop entries of objects that are gone, so the list does not grow forever.
    std::erase_if(live, [](const std::weak_ptr<Stoppable>& w) { return w.expired(); });
    live.push_back(object);
  }
  std::vector<std::shared_ptr<Stoppable>> liveObjects() {
    std::lock_guard lock(mu);
    std::vector<std::shared_ptr<Stoppable>> out;
    for (auto& w : live) {
      if (auto s = w.lock()) out.push_back(std::move(s));
    }
    return out;
  }

  // A new connection's socket goes to the next of the pool's threads; the
  // rest (listeners, handshakes, timers) goes to `io`, the pool's first.
  asio::io_context& connectionIo() { return pool.next(); }

  asio::io_context& io;
  IoPool& pool;
  const ChannelOptions options;
  const EndpointId id;
  std::shared_ptr<FaultInjector> faults;  // null unless options.faults has a rule
  std::shared_ptr<rdma::QueuePairFactory> rdma_queue_pairs;  // null: no RDMA
  std::string rdma_unavailable;                              // why not, when null
  std::mutex mu;
  std::vector<std::weak_ptr<Stoppable>> live;
};

}  // namespace eccl::transport::tcp
