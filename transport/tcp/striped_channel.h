// A channel of K TCP connections between two endpoints (see transport.h for
// the contract). Messages are cut into chunks that idle connections pull one
// at a time (work stealing), so the channel moves the sum of its sockets'
// throughput rather than K times the slowest.
//
// Locking: one mutex guards the send queue, the receive table and the
// channel's state; it is never held across I/O or a user callback. Each
// connection does its I/O on its own strand.
#pragma once

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "transport/channel_options.h"
#include "transport/tcp/effects.h"
#include "transport/tcp/endpoint_context.h"
#include "transport/tcp/frame_connection.h"
#include "transport/tcp/recv_table.h"
#include "transport/tcp/send_queue.h"
#include "transport/transport.h"

namespace eccl::transport::tcp {

struct ChannelSetup {
  ChannelOptions options;
  PeerInfo peer;
  uint32_t peer_chunk_bytes = 0;
  uint64_t peer_pool_bytes = 0;
  // Connections ordered by index; for a listener, the HelloAck each must send first.
  std::vector<std::shared_ptr<FrameConnection>> connections;
  std::vector<std::unique_ptr<OutgoingFrame>> first_frames;
};

class StripedChannelCore final : public ConnectionDelegate,
                                 public Stoppable,
                                 public std::enable_shared_from_this<StripedChannelCore> {
 public:
  StripedChannelCore(asio::io_context& io, ChannelSetup setup);
  ~StripedChannelCore() override;

  // Takes over the connections from the handshake and starts the liveness timer.
  void start();

  void send(uint64_t stream, std::span<const uint8_t> data, SendCallback done);
  void recv(uint64_t stream, std::span<uint8_t> buffer, RecvCallback done);
  void close(std::string reason, Code code = Code::kOk);
  // Stops the channel: every connection closes, then every pending operation
  // ends with this status. The first reason wins.
  void fail(Status reason, bool peer_said_goodbye = false);

  Status status() const;
  void setFailureHandler(std::function<void(Status)> on_failure);
  const PeerInfo& peer() const { return peer_; }
  int connectionCount() const { return connection_count_; }
  ChannelStats stats() const;
  // Splits bytes_per_s evenly over the connections (0: no cap); nothing once failing.
  void setPacingRate(uint64_t bytes_per_s);

  // Stoppable: a shutting-down endpoint says goodbye, so the peer learns why.
  void shutdown(Status reason) override { close(reason.message()); }
  bool quiesced() const override;

  // ConnectionDelegate
  bool acceptsFrame(protocol::MessageType type) const override {
    return type != protocol::MessageType::kHello && type != protocol::MessageType::kHelloAck &&
           static_cast<uint8_t>(type) <= static_cast<uint8_t>(protocol::MessageType::kDelivered);
  }
  Status onControlFrame(FrameConnection& connection, const protocol::FrameHeader& header,
                        std::span<const uint8_t> payload) override;
  Result<ChunkTarget> onChunkHeader(FrameConnection& connection,
                                    const protocol::FrameHeader& header,
                                    const protocol::ChunkHeader& chunk) override;
  Status onChunkPayload(FrameConnection& connection, const ChunkTarget& target,
                        Status payload_status) override;
  std::unique_ptr<OutgoingFrame> nextFrame(FrameConnection& connection) override;
  void onFrameWritten(FrameConnection& connection, OutgoingFrame& frame) override;
  void onDetached(FrameConnection& connection, const ChunkRef& chunk) override;
  void onReadDropped(FrameConnection& connection, uint64_t token) override;
  void onConnectionError(FrameConnection& connection, Status error) override;
  void onConnectionStopped(FrameConnection& connection) override;

 private:
  using DetachList = std::vector<std::pair<int, ChunkRef>>;
  using ConnectionList = std::vector<std::shared_ptr<FrameConnection>>;
  using Detaches = std::vector<std::pair<std::shared_ptr<FrameConnection>, ChunkRef>>;
  using ReadDrops = std::vector<std::pair<std::shared_ptr<FrameConnection>, uint64_t>>;

  // The channel's own asio objects. They are released once the channel has
  // stopped, so that a Channel handle kept past its transport holds nothing
  // that belongs to the transport's I/O context.
  struct Timers {
    explicit Timers(asio::io_context& io)
        : strand(asio::make_strand(io)), liveness(strand), close(strand), hedge(strand) {}
    asio::strand<asio::io_context::executor_type> strand;
    asio::steady_timer liveness;
    asio::steady_timer close;
    asio::steady_timer hedge;
  };

  // Under mu_: turns effects' frames into queued control frames.
  void queueFramesLocked(Effects& effects);
  // Under mu_: every queued control frame as one frame to write, with the
  // pool credit owed when `with_pool_credit`; null when there is none.
  std::unique_ptr<OutgoingFrame> takeControlFramesLocked(bool with_pool_credit);
  // Under mu_: marks idle working connections (every connection with `every`)
  // busy and returns them, to be woken after unlocking.
  ConnectionList takeIdleLocked(size_t at_most, bool every = false);
  // Under mu_: how many parked connections have something to write now.
  size_t writersWantedLocked() const;
  Detaches resolveLocked(const DetachList& detach) const;
  // Under mu_: the connections of effects.reads_to_drop, which it empties.
  ReadDrops takeReadDropsLocked(Effects& effects) const;
  void finish(Effects& effects, const ConnectionList& wake, const Detaches& detach);
  void release(std::shared_ptr<Timers> timers);
  std::unique_ptr<OutgoingFrame> makeChunkFrame(const ChunkAssignment& assignment) const;
  // Under mu_: the ping connection `index` owes.
  std::unique_ptr<OutgoingFrame> takePingLocked(int index);
  void armLivenessTimer();
  void checkLiveness();
  // Under mu_: how long a chunk's write may take before a copy goes elsewhere.
  std::chrono::nanoseconds lateAfterLocked() const;
  // Under mu_, as a connection parks: when a chunk still being written will
  // turn late, wake the parked connections then (nothing else may wake them).
  void armHedgeCheckLocked(FrameConnection::Clock::time_point now);
  void checkHedges();

  const ChannelOptions options_;
  const PeerInfo peer_;
  const int connection_count_;
  // Connections that carry chunks and control frames: all of them over TCP,
  // kWorkingConnectionsOverSharedMemory over shared memory. The others carry
  // their pings and Goodbye only.
  const int working_connections_;

  mutable std::mutex mu_;
  ConnectionList connections_;      // emptied once every connection has stopped
  std::shared_ptr<Timers> timers_;  // null once released; used only on its strand
  SendQueue send_;
  RecvTable recv_;
  std::vector<std::unique_ptr<OutgoingFrame>> first_frames_;  // by connection index
  // Encoded control frames (credits, deliveries, stream errors) in order: the
  // next connection to write takes them all, one write for what used to be
  // a write each (a small op queues several per message).
  std::vector<uint8_t> control_queue_;
  uint64_t pending_pool_credit_ = 0;
  std::vector<bool> idle_;
  std::vector<bool> ping_due_;
  std::vector<bool> goodbye_sent_;
  size_t goodbyes_written_ = 0;
  std::vector<bool> goodbye_received_;  // by connection index
  size_t goodbyes_received_ = 0;
  std::optional<Status> peer_goodbye_;  // the first Goodbye's reason
  bool closing_ = false;  // close() called: each connection's next frame is its Goodbye
  std::string close_reason_;
  Code close_code_ = Code::kOk;  // kInvalidUsage or kOk, for the Goodbye
  bool failing_ = false;         // connections are being stopped
  bool stopped_ = false;         // all connections stopped; pending operations ended
  bool released_ = false;        // asio objects gone: safe to outlive the transport
  size_t connections_stopped_ = 0;
  Status failure_;
  std::function<void(Status)> on_failure_;
  uint64_t ping_nonce_ = 0;
  // Moving average of how long a chunk takes to write (hedging's yardstick).
  std::chrono::nanoseconds chunk_write_average_{0};
  // When the hedge timer fires, if it is armed.
  std::optional<FrameConnection::Clock::time_point> hedge_check_at_;
};

// The Channel handle given to users: destroying it closes the channel.
class StripedChannel final : public Channel {
 public:
  explicit StripedChannel(std::shared_ptr<StripedChannelCore> core) : core_(std::move(core)) {}
  ~StripedChannel() override;

  void send(uint64_t stream, std::span<const uint8_t> data, SendCallback done) override {
    core_->send(stream, data, std::move(done));
  }
  void recv(uint64_t stream, std::span<uint8_t> buffer, RecvCallback done) override {
    core_->recv(stream, buffer, std::move(done));
  }
  using Channel::close;
  void close(std::string reason, Code code) override { core_->close(std::move(reason), code); }
  Status status() const override { return core_->status(); }
  void setFailureHandler(std::function<void(Status)> on_failure) override {
    core_->setFailureHandler(std::move(on_failure));
  }
  const PeerInfo& peer() const override { return core_->peer(); }
  int connectionCount() const override { return core_->connectionCount(); }
  ChannelStats stats() const override { return core_->stats(); }
  void setPacingRate(uint64_t bytes_per_s) override { core_->setPacingRate(bytes_per_s); }

 private:
  std::shared_ptr<StripedChannelCore> core_;
};

}  // namespace eccl::transport::tcp
