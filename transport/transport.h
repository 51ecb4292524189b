// The transport interface: endpoints that listen and connect, and channels
// that move framed, stream-tagged messages between two endpoints.
//
// A Channel delivers whole messages. The sender calls send(stream, bytes); the
// receiver posts recv(stream, buffer) with a buffer of exactly the message's
// size. A send completes once the receiver holds the whole message in its
// posted buffer, or with the receiver's error (e.g. a buffer of another size):
// both ends always learn the outcome. The sender must keep its buffer intact
// until then. Sends and receives of different streams are independent and may
// be posted in any order on either side. A stream id may be reused once the
// receiver has completed the previous message with that id (the collectives
// build unique ids from operation, step and attempt).
//
// Completion callbacks run on the transport's I/O threads, never under an
// internal lock: they may call send()/recv() again but must not block. When
// a channel has already failed, send()/recv() run their callback with the
// failure before returning.
//
// TCP is the first implementation (transport/tcp); TLS and RDMA implement the
// same interface.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "src/common/endpoint_id.h"
#include "src/common/status.h"
#include "transport/channel_options.h"
#include "transport/tls/fingerprint.h"

namespace eccl::transport {

using SendCallback = std::function<void(Status)>;
using RecvCallback = std::function<void(Status)>;

struct PeerInfo {
  EndpointId id;        // the remote endpoint's random id (from the handshake)
  std::string address;  // "ip:port" of its first connection
  // Over TLS, the certificate every connection of the channel presented
  // (verified against the CA; connections presenting different ones are
  // refused); none over plaintext. The id is only claimed: a layer above
  // checks it against the certificate the master announced for that id.
  std::optional<tls::CertFingerprint> certificate;
  // The channel's connections move their bytes through shared memory
  // (transport/shm): the peer is on this host. Otherwise TCP (or TLS over it).
  bool shared_memory = false;
  // How many of its connections move their bytes through RDMA queue pairs
  // (transport/rdma); each negotiates by itself, the others stay on TCP.
  int rdma_connections = 0;
  // "peer 127.0.0.1:4000 (3f2a9c01)": how log lines and errors name it.
  std::string describe() const;
};

struct ConnectionStats {
  uint64_t bytes_sent = 0;
  uint64_t bytes_received = 0;
  uint64_t chunks_sent = 0;
};

struct ChannelStats {
  uint64_t messages_sent = 0;
  uint64_t messages_received = 0;
  uint64_t payload_bytes_sent = 0;      // message bytes written (a chunk's first copy only)
  uint64_t payload_bytes_received = 0;  // message bytes placed (duplicates excluded)
  uint64_t eager_chunks_sent = 0;       // sent before the receiver had posted
  uint64_t hedged_chunks_sent = 0;      // late tail chunks re-sent on another connection
  uint64_t duplicate_chunks_dropped = 0;
  uint64_t pool_bytes_peak = 0;  // most bytes held for not-yet-posted streams
  // Time the link kept this side's bytes waiting (the kernel had them queued
  // or in flight, or a fault held them: ByteStream::sendBusyTime), since the
  // channel opened, on its busiest connection: striping loads the first
  // connections most, and a mean would hide a saturated one behind idle ones.
  // Its growth over a window is about the share of it the link was busy.
  uint64_t send_busy_ns = 0;
  // Bytes wait to be written and no connection has written any for this long
  // (0: nothing waits, or the channel moves): a frozen link.
  uint64_t send_stalled_ns = 0;
  std::vector<ConnectionStats> connections;
};

class Channel {
 public:
  virtual ~Channel() = default;  // closes the channel (pending operations end with kAborted)

  virtual void send(uint64_t stream, std::span<const uint8_t> data, SendCallback done) = 0;
  virtual void recv(uint64_t stream, std::span<uint8_t> buffer, RecvCallback done) = 0;

  // Graceful close: queues a Goodbye telling the peer why, then ends pending
  // operations with kAborted once it is written (at most ~2 s later). Returns
  // at once; the failure handler runs when the channel has stopped. `code`
  // travels in the Goodbye: kInvalidUsage says the close is over a
  // disagreement about an op (a peer with another count or dtype), and the
  // peer's operations then fail with kInvalidUsage instead of
  // kConnectionError, so that the whole ring reports the disagreement rather
  // than a lost peer. Any other code closes as kOk does.
  virtual void close(std::string reason, Code code) = 0;
  void close(std::string reason) { close(std::move(reason), Code::kOk); }

  // Ok while the channel works; afterwards the reason it stopped.
  virtual Status status() const = 0;
  // Called once, on an I/O thread, when the channel stops for any reason.
  virtual void setFailureHandler(std::function<void(Status)> on_failure) = 0;

  // Caps what this side sends on the channel at bytes_per_s in total, split
  // evenly over its connections (kernel pacing via SO_MAX_PACING_RATE, which
  // Linux TCP applies itself, without the fq qdisc); 0 lifts the cap. Any
  // thread; takes effect on bytes not yet handed to the kernel. Does nothing
  // once the channel has stopped.
  virtual void setPacingRate(uint64_t bytes_per_s) = 0;

  virtual const PeerInfo& peer() const = 0;
  virtual int connectionCount() const = 0;
  virtual ChannelStats stats() const = 0;
};

using AcceptCallback = std::function<void(std::unique_ptr<Channel>)>;
using ConnectCallback = std::function<void(Result<std::unique_ptr<Channel>>)>;

class Listener {
 public:
  virtual ~Listener() = default;  // stops accepting; channels already made live on
  virtual uint16_t port() const = 0;
  virtual std::string address() const = 0;  // "ip:port" actually bound
};

class Transport {
 public:
  virtual ~Transport() = default;

  virtual const EndpointId& endpointId() const = 0;

  // Binds host:port (port 0 picks a free one) and calls on_channel for every
  // channel a peer assembles. Handshake failures are logged and dropped.
  virtual Result<std::unique_ptr<Listener>> listen(const std::string& host, uint16_t port,
                                                   AcceptCallback on_channel) = 0;

  // Opens options.connections connections to host:port and completes once all
  // of them passed the handshake (or with the first error).
  virtual void connect(const std::string& host, uint16_t port, ConnectCallback done) = 0;

  // Blocking helper over connect(); waits at most the connect plus handshake timeouts.
  Result<std::unique_ptr<Channel>> connectAndWait(const std::string& host, uint16_t port);
};

}  // namespace eccl::transport
