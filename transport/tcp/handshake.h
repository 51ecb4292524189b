// Channel set-up. A Connector opens K connections to a listener and sends a
// Hello on each; an Acceptor groups incoming connections by channel id and,
// once all K are in, answers each with a HelloAck and hands them to a new
// channel. Either side gives up after the handshake timeout; a connection
// that says something else than a valid Hello is dropped with a log line
// naming its address, and the listener carries on.
#pragma once

#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "transport/tcp/endpoint_context.h"
#include "transport/tcp/frame_connection.h"
#include "transport/tcp/striped_channel.h"
#include "transport/transport.h"

namespace eccl::transport::tcp {

class Connector final : public ConnectionDelegate,
                        public Stoppable,
                        public std::enable_shared_from_this<Connector> {
 public:
  Connector(std::shared_ptr<EndpointContext> context, std::string host, uint16_t port,
            ConnectCallback done);
  void start();

  void shutdown(Status reason) override { failAll(std::move(reason)); }
  bool quiesced() const override;

  bool acceptsFrame(protocol::MessageType type) const override {
    return type == protocol::MessageType::kHelloAck;
  }
  Status onControlFrame(FrameConnection& connection, const protocol::FrameHeader& header,
                        std::span<const uint8_t> payload) override;
  Result<ChunkTarget> onChunkHeader(FrameConnection& connection,
                                    const protocol::FrameHeader& header,
                                    const protocol::ChunkHeader& chunk) override;
  Status onChunkPayload(FrameConnection&, const ChunkTarget&, Status) override {
    return internalError("chunk payload during the handshake");
  }
  std::unique_ptr<OutgoingFrame> nextFrame(FrameConnection& connection) override;
  void onFrameWritten(FrameConnection&, OutgoingFrame&) override {}
  void onDetached(FrameConnection&, const ChunkRef&) override {}
  void onConnectionError(FrameConnection& connection, Status error) override;
  void onConnectionStopped(FrameConnection& connection) override;

 private:
  void connectOne(int index, const asio::ip::tcp::resolver::results_type& endpoints);
  // On the first connection up: K for this link from its handshake's round
  // trip (ChannelOptions::connectionsForRoundTrip). Returns the indices of the
  // connections to open beyond those already started.
  std::vector<int> settleConnectionCountLocked(asio::ip::tcp::socket& first);
  void failAll(Status reason);
  std::string target() const { return host_ + ":" + std::to_string(port_); }

  const std::shared_ptr<EndpointContext> context_;
  const std::string host_;
  const uint16_t port_;
  const EndpointId channel_id_;
  asio::strand<asio::io_context::executor_type> strand_;
  asio::ip::tcp::resolver resolver_;
  asio::steady_timer deadline_;

  mutable std::mutex mu_;
  ConnectCallback done_;
  bool finished_ = false;  // done_ has been called
  // The channel made on success is tracked and started: a shutting-down
  // endpoint that saw this connector quiesced finds the channel in its list.
  bool handed_over_ = false;
  Status failure_;
  // K: options.connections until the first connection is up, then final. No
  // Hello goes out before that, so every Hello carries the final count.
  int count_;
  bool count_settled_ = false;
  std::vector<std::shared_ptr<asio::ip::tcp::socket>> sockets_;
  std::vector<std::shared_ptr<FrameConnection>> connections_;
  std::vector<bool> hello_sent_;
  int acked_ = 0;
  int started_ = 0;
  int stopped_ = 0;
  protocol::HelloAck first_ack_;
  std::optional<tls::CertFingerprint> certificate_;  // of the first connection acked
};

class Acceptor;

// One incoming connection until its Hello has been matched into a channel.
class InboundHandshake final : public ConnectionDelegate,
                               public std::enable_shared_from_this<InboundHandshake> {
 public:
  InboundHandshake(std::shared_ptr<Acceptor> acceptor, std::shared_ptr<FrameConnection> connection);
  ~InboundHandshake() override;
  void start(std::chrono::milliseconds timeout);
  // Sends a refusal, then closes the connection.
  void reject(protocol::HandshakeStatus status, std::string reason);
  // The connection now belongs to a channel.
  void completed();

  const std::shared_ptr<FrameConnection>& connection() const { return connection_; }

  bool acceptsFrame(protocol::MessageType type) const override {
    return type == protocol::MessageType::kHello;
  }
  Status onControlFrame(FrameConnection& connection, const protocol::FrameHeader& header,
                        std::span<const uint8_t> payload) override;
  Result<ChunkTarget> onChunkHeader(FrameConnection& connection,
                                    const protocol::FrameHeader& header,
                                    const protocol::ChunkHeader& chunk) override;
  Status onChunkPayload(FrameConnection&, const ChunkTarget&, Status) override {
    return internalError("chunk payload during the handshake");
  }
  std::unique_ptr<OutgoingFrame> nextFrame(FrameConnection& connection) override;
  void onFrameWritten(FrameConnection& connection, OutgoingFrame& frame) override;
  void onDetached(FrameConnection&, const ChunkRef&) override {}
  void onConnectionError(FrameConnection& connection, Status error) override;
  void onConnectionStopped(FrameConnection& connection) override;

 private:
  // Held, so that the listener stays tracked (and its transport waits) until
  // every connection it accepted has let go of its handshake.
  const std::shared_ptr<Acceptor> acceptor_;
  const std::shared_ptr<FrameConnection> connection_;
  asio::steady_timer deadline_;
  std::mutex mu_;
  std::unique_ptr<OutgoingFrame> reply_;
  bool done_ = false;
};

class Acceptor final : public Stoppable, public std::enable_shared_from_this<Acceptor> {
 public:
  static Result<std::shared_ptr<Acceptor>> open(std::shared_ptr<EndpointContext> context,
                                                const std::string& host, uint16_t port,
                                                AcceptCallback on_channel);
  Acceptor(std::shared_ptr<EndpointContext> context, asio::ip::tcp::acceptor acceptor,
           AcceptCallback on_channel);

  void start();
  void close();
  uint16_t port() const { return port_; }
  const std::string& address() const { return address_; }

  void shutdown(Status) override { close(); }
  bool quiesced() const override;

  // From InboundHandshake, on the connection's strand.
  // On the connection's executor; `certificate`: the connection's verified TLS certificate.
  void onHello(const std::shared_ptr<InboundHandshake>& handshake, const protocol::Hello& hello,
               const std::optional<tls::CertFingerprint>& certificate);
  void onHandshakeEnded(InboundHandshake* handshake, const Status& why);
  void onHandshakeDestroyed();

 private:
  struct Group {
    protocol::Hello first;
    std::optional<tls::CertFingerprint> certificate;  // the first connection's
    std::vector<std::shared_ptr<InboundHandshake>> slots;
    int filled = 0;
  };

  void acceptNext();
  void abandonGroupLocked(const EndpointId& channel,
                          std::vector<std::shared_ptr<InboundHandshake>>& to_reject);

  const std::shared_ptr<EndpointContext> context_;
  // The listening socket (on its own strand); released on close so that a
  // Listener handle kept past its transport holds nothing of the I/O context.
  std::shared_ptr<asio::ip::tcp::acceptor> acceptor_;  // under mu_; null once released
  const AcceptCallback on_channel_;
  uint16_t port_ = 0;
  std::string address_;

  mutable std::mutex mu_;
  bool closed_ = false;
  bool released_ = false;
  bool accept_pending_ = false;
  int handing_over_ = 0;  // channels made but not yet tracked and started
  // InboundHandshakes alive. A connection and its handshake hold each other
  // until the connection stops on its strand: the I/O context must run until
  // then, or the pair outlives the transport. Atomic: a handshake may be let
  // go of while mu_ is held.
  std::atomic<int> live_handshakes_{0};
  struct Pending {
    std::weak_ptr<InboundHandshake> handshake;
    std::string host;  // remote IP address
  };
  void erasePendingLocked(InboundHandshake* handshake);

  std::map<InboundHandshake*, Pending> pending_;
  std::map<std::string, int> pending_by_host_;
  std::map<EndpointId, Group> groups_;
};

}  // namespace eccl::transport::tcp
