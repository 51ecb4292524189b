#include "transport/tcp/handshake.h"

#include <asio/bind_executor.hpp>
#include <asio/connect.hpp>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <optional>

#include "src/common/log.h"
#include "transport/tcp/tcp_kernel_info.h"
#include "transport/tcp/tcp_stream.h"

namespace eccl::transport::tcp {

using protocol::FrameHeader;
using protocol::HandshakeStatus;
using protocol::MessageType;

// ---- Connector ----------------------------------------------------------------

Connector::Connector(std::shared_ptr<EndpointContext> context, std::string host, uint16_t port,
                     ConnectCallback done)
    : context_(std::move(context)),
      host_(std::move(host)),
      port_(port),
      channel_id_(EndpointId::random()),
      strand_(asio::make_strand(context_->io)),
      resolver_(strand_),
      deadline_(strand_),
      done_(std::move(done)),
      count_(context_->options.connections),
      sockets_(count_),
      connections_(count_),
      hello_sent_(count_, false) {}

void Connector::start() {
  auto self = shared_from_this();
  asio::post(strand_, [self] {
    const auto budget =
        self->context_->options.connect_timeout + self->context_->options.handshake_timeout;
    self->deadline_.expires_after(budget);
    self->deadline_.async_wait([weak = self->weak_from_this(), budget](std::error_code ec) {
      if (ec) return;
      auto me = weak.lock();
      if (!me) return;
      int acked;
      int count;
      {
        std::lock_guard lock(me->mu_);
        acked = me->acked_;
        count = me->count_;
      }
      me->failAll(timeoutError("no channel to " + me->target() + " within " +
                               std::to_string(budget.count()) + " ms (" + std::to_string(acked) +
                               " of " + std::to_string(count) +
                               " connections through the handshake)"));
    });
    self->resolver_.async_resolve(
        self->host_, std::to_string(self->port_),
        [self](std::error_code ec, asio::ip::tcp::resolver::results_type results) {
          if (ec) {
            self->failAll(
                connectionError("cannot resolve " + self->target() + ": " + ec.message()));
            return;
          }
          int count;
          {
            std::lock_guard lock(self->mu_);
            count = self->count_;
          }
          for (int i = 0; i < count; ++i)
            self->connectOne(i, results);
        });
  });
}

void Connector::connectOne(int index, const asio::ip::tcp::resolver::results_type& endpoints) {
  auto socket =
      std::make_shared<asio::ip::tcp::socket>(asio::make_strand(context_->connectionIo()));
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    sockets_[index] = socket;
  }
  // Started on the socket's strand: failAll() closes registered sockets
  // there, and a close racing with the connect's start on another I/O thread
  // is a data race inside asio (TSan saw it once).
  asio::dispatch(socket->get_executor(), [self = shared_from_this(), index, socket, endpoints] {
    {
      // A failAll() since then closes this socket on this strand after the
      // start below, or has already: then the connect must not reopen it.
      std::lock_guard lock(self->mu_);
      if (self->finished_) return;
    }
    asio::async_connect(
        *socket, endpoints,
        [self, index, socket, endpoints](std::error_code ec, const asio::ip::tcp::endpoint&) {
          if (ec) {
            self->failAll(
                connectionError("cannot connect to " + self->target() + ": " + ec.message()));
            return;
          }
          std::shared_ptr<FrameConnection> connection;
          Status cannot_secure;
          std::vector<int> more;
          {
            std::lock_guard lock(self->mu_);
            if (self->finished_) {
              std::error_code ignored;
              socket->close(ignored);
              return;
            }
            if (!self->count_settled_) more = self->settleConnectionCountLocked(*socket);
            applySocketOptions(*socket, self->context_->options, self->target());
            auto stream = self->context_->stream(std::move(*socket), auth::Side::kClient, index);
            self->sockets_[index].reset();
            if (stream) {
              connection = std::make_shared<FrameConnection>(
                  std::move(*stream), index, self->context_->options.read_low_water);
              self->connections_[index] = connection;
              ++self->started_;
            } else {
              cannot_secure = stream.status();
            }
          }
          if (!connection) {
            self->failAll(cannot_secure.withContext("connecting to " + self->target()));
            return;
          }
          for (int extra : more)
            self->connectOne(extra, endpoints);
          connection->start(self);
        });
  });
}

std::vector<int> Connector::settleConnectionCountLocked(asio::ip::tcp::socket& first) {
  count_settled_ = true;
  const auto rtt = kernelRoundTrip(first.native_handle());
  if (!rtt) return {};
  const int wanted = context_->options.connectionsForRoundTrip(*rtt);
  std::vector<int> more;
  for (int index = count_; index < wanted; ++index)
    more.push_back(index);
  if (more.empty()) return more;
  ECCL_LOG_INFO("link to {}: handshake took {} us, {} connections instead of {}", target(),
                rtt->count(), wanted, count_);
  count_ = wanted;
  sockets_.resize(count_);
  connections_.resize(count_);
  hello_sent_.resize(count_, false);
  return more;
}

bool Connector::quiesced() const {
  std::lock_guard lock(mu_);
  return finished_ && (failure_.isOk() ? handed_over_ : stopped_ == started_);
}

std::unique_ptr<OutgoingFrame> Connector::nextFrame(FrameConnection& connection) {
  std::lock_guard lock(mu_);
  const int index = connection.index();
  if (finished_ || hello_sent_[index]) return nullptr;
  hello_sent_[index] = true;
  protocol::Hello hello;
  hello.endpoint = context_->id;
  hello.channel = channel_id_;
  hello.connection_index = static_cast<uint16_t>(index);
  hello.connection_count = static_cast<uint16_t>(count_);
  hello.chunk_bytes = context_->options.chunk_bytes;
  hello.pool_bytes = context_->options.pool_bytes;
  return OutgoingFrame::makeControl(MessageType::kHello,
                                    protocol::encodeFrame(hello, context_->options.checksum));
}

Status Connector::onControlFrame(FrameConnection& connection, const FrameHeader& header,
                                 std::span<const uint8_t> payload) {
  if (header.type != MessageType::kHelloAck) {
    return protocolError("expected HelloAck, got " +
                         std::string(protocol::messageTypeName(header.type)));
  }
  auto ack = protocol::decodeMessage<protocol::HelloAck>(payload);
  if (!ack) return ack.status();
  if (ack->status != HandshakeStatus::kAccepted) {
    const Code code =
        ack->status == HandshakeStatus::kUnsupported ? Code::kUnsupported : Code::kConnectionError;
    failAll(Status(code, "listener at " + target() +
                             " refused the channel: " + protocol::printable(ack->reason)));
    return Status::ok();
  }
  connection.pauseReading();  // data may follow at once; the channel reads it

  std::shared_ptr<StripedChannelCore> core;
  ConnectCallback done;
  {
    std::lock_guard lock(mu_);
    if (finished_) return Status::ok();
    if (acked_ == 0) {
      first_ack_ = *ack;
      certificate_ = connection.peerCertificate();
    } else if (ack->endpoint != first_ack_.endpoint || ack->chunk_bytes != first_ack_.chunk_bytes ||
               ack->pool_bytes != first_ack_.pool_bytes ||
               connection.peerCertificate() != certificate_) {
      return protocolError("connections to " + target() + " were answered by different endpoints");
    }
    if (++acked_ < count_) return Status::ok();
    finished_ = true;
    ChannelSetup setup;
    setup.options = context_->options;
    setup.peer.id = first_ack_.endpoint;
    setup.peer.address = connections_[0]->remoteAddress();
    setup.peer.certificate = certificate_;
    setup.peer.shared_memory = connections_[0]->sharedMemory();
    for (const auto& each : connections_)
      setup.peer.rdma_connections += each->rdma() ? 1 : 0;
    setup.peer_chunk_bytes = first_ack_.chunk_bytes;
    setup.peer_pool_bytes = first_ack_.pool_bytes;
    setup.connections = connections_;
    core = std::make_shared<StripedChannelCore>(context_->io, std::move(setup));
    done = std::move(done_);
  }
  asio::post(strand_, [self = shared_from_this()] {
    self->deadline_.cancel();
    self->resolver_.cancel();
  });
  context_->track(core);
  core->start();
  {
    std::lock_guard lock(mu_);
    handed_over_ = true;
  }
  if (done) done(std::unique_ptr<Channel>(std::make_unique<StripedChannel>(core)));
  return Status::ok();
}

Result<ChunkTarget> Connector::onChunkHeader(FrameConnection&, const FrameHeader&,
                                             const protocol::ChunkHeader&) {
  return protocolError("data before the handshake completed");
}

void Connector::onConnectionError(FrameConnection& /*connection*/, Status error) {
  failAll(error.withContext("connecting to " + target()));
}

void Connector::onConnectionStopped(FrameConnection& /*connection*/) {
  std::lock_guard lock(mu_);
  ++stopped_;
}

void Connector::failAll(Status reason) {
  ConnectCallback done;
  std::vector<std::shared_ptr<FrameConnection>> connections;
  std::vector<std::shared_ptr<asio::ip::tcp::socket>> sockets;
  {
    std::lock_guard lock(mu_);
    if (finished_) return;
    finished_ = true;
    failure_ = reason;
    done = std::move(done_);
    connections = connections_;
    sockets = sockets_;
  }
  ECCL_LOG_DEBUG("connect to {} failed: {}", target(), reason.toString());
  for (auto& connection : connections) {
    if (connection) connection->stop();
  }
  for (auto& socket : sockets) {
    if (!socket) continue;
    asio::post(socket->get_executor(), [socket] {
      std::error_code ignored;
      socket->close(ignored);
    });
  }
  asio::post(strand_, [self = shared_from_this()] {
    self->deadline_.cancel();
    self->resolver_.cancel();
  });
  if (done) done(std::move(reason));
}

// ---- InboundHandshake ----------------------------------------------------------

InboundHandshake::InboundHandshake(std::shared_ptr<Acceptor> acceptor,
                                   std::shared_ptr<FrameConnection> connection)
    : acceptor_(std::move(acceptor)),
      connection_(std::move(connection)),
      deadline_(connection_->executor()) {}

InboundHandshake::~InboundHandshake() {
  acceptor_->onHandshakeDestroyed();
}

void InboundHandshake::start(std::chrono::milliseconds timeout) {
  connection_->start(shared_from_this());
  asio::post(connection_->executor(), [self = shared_from_this(), timeout] {
    self->deadline_.expires_after(timeout);
    self->deadline_.async_wait([weak = self->weak_from_this(), timeout](std::error_code ec) {
      if (ec) return;
      auto me = weak.lock();
      if (!me) return;
      {
        std::lock_guard lock(me->mu_);
        if (me->done_) return;
      }
      me->onConnectionError(
          *me->connection_,
          timeoutError("no complete handshake within " + std::to_string(timeout.count()) + " ms"));
    });
  });
}

void InboundHandshake::reject(HandshakeStatus status, std::string reason) {
  {
    std::lock_guard lock(mu_);
    if (done_) return;
    done_ = true;
    protocol::HelloAck ack;
    ack.status = status;
    ack.reason = std::move(reason);
    reply_ = OutgoingFrame::makeControl(MessageType::kHelloAck, protocol::encodeFrame(ack));
  }
  connection_->wakeWriter();
}

void InboundHandshake::completed() {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  asio::post(connection_->executor(), [self = shared_from_this()] { self->deadline_.cancel(); });
}

Status InboundHandshake::onControlFrame(FrameConnection& connection, const FrameHeader& header,
                                        std::span<const uint8_t> payload) {
  if (header.type != MessageType::kHello) {
    return protocolError("expected Hello, got " +
                         std::string(protocol::messageTypeName(header.type)));
  }
  auto hello = protocol::decodeMessage<protocol::Hello>(payload);
  if (!hello) return hello.status();
  connection.setIndex(hello->connection_index);
  connection.pauseReading();  // nothing more until the channel takes over
  acceptor_->onHello(shared_from_this(), *hello, connection.peerCertificate());
  return Status::ok();
}

Result<ChunkTarget> InboundHandshake::onChunkHeader(FrameConnection&, const FrameHeader&,
                                                    const protocol::ChunkHeader&) {
  return protocolError("data before the handshake completed");
}

std::unique_ptr<OutgoingFrame> InboundHandshake::nextFrame(FrameConnection&) {
  std::lock_guard lock(mu_);
  return std::move(reply_);
}

void InboundHandshake::onFrameWritten(FrameConnection& connection, OutgoingFrame&) {
  connection.stop();  // the only frame written here is a refusal
}

void InboundHandshake::onConnectionError(FrameConnection& connection, Status error) {
  ECCL_LOG_WARN("listener {}: dropped connection from {}: {}", acceptor_->address(),
                connection.remoteAddress(), error.toString());
  acceptor_->onHandshakeEnded(this, error);
  connection.abort();
}

void InboundHandshake::onConnectionStopped(FrameConnection&) {
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  deadline_.cancel();
  acceptor_->onHandshakeEnded(this, connectionError("connection closed during the handshake"));
}

// ---- Acceptor --------------------------------------------------------------------

Result<std::shared_ptr<Acceptor>> Acceptor::open(std::shared_ptr<EndpointContext> context,
                                                 const std::string& host, uint16_t port,
                                                 AcceptCallback on_channel) {
  std::error_code ec;
  asio::ip::tcp::resolver resolver(context->io);
  auto results = resolver.resolve(host, std::to_string(port), asio::ip::tcp::resolver::passive, ec);
  if (ec || results.empty()) {
    return invalidArgument("cannot resolve listen address " + host + ": " + ec.message());
  }
  const asio::ip::tcp::endpoint endpoint = results.begin()->endpoint();
  asio::ip::tcp::acceptor acceptor(asio::make_strand(context->io));
  const std::string where = formatEndpoint(endpoint);
  acceptor.open(endpoint.protocol(), ec);
  if (ec) return systemError("cannot open a socket to listen on " + where + ": " + ec.message());
  acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  acceptor.bind(endpoint, ec);
  if (ec) return systemError("cannot listen on " + where + ": " + ec.message());
  acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return systemError("cannot listen on " + where + ": " + ec.message());
  return std::make_shared<Acceptor>(std::move(context), std::move(acceptor), std::move(on_channel));
}

Acceptor::Acceptor(std::shared_ptr<EndpointContext> context, asio::ip::tcp::acceptor acceptor,
                   AcceptCallback on_channel)
    : context_(std::move(context)),
      acceptor_(std::make_shared<asio::ip::tcp::acceptor>(std::move(acceptor))),
      on_channel_(std::move(on_channel)) {
  std::error_code ec;
  auto local = acceptor_->local_endpoint(ec);
  port_ = ec ? 0 : local.port();
  address_ = ec ? std::string("?") : formatEndpoint(local);
}

void Acceptor::start() {
  asio::post(acceptor_->get_executor(), [self = shared_from_this()] { self->acceptNext(); });
}

void Acceptor::acceptNext() {
  std::shared_ptr<asio::ip::tcp::acceptor> acceptor;
  {
    std::lock_guard lock(mu_);
    if (closed_ || !acceptor_) return;
    accept_pending_ = true;
    acceptor = acceptor_;
  }
  acceptor->async_accept(
      asio::make_strand(context_->connectionIo()),
      [self = shared_from_this(), acceptor](std::error_code ec, asio::ip::tcp::socket socket) {
        {
          std::lock_guard lock(self->mu_);
          self->accept_pending_ = false;
          if (self->closed_) return;
        }
        if (ec) {
          // Out of descriptors, or similar: log, and try again shortly rather than spin.
          ECCL_LOG_WARN("listener {}: accept failed: {}", self->address_, ec.message());
          auto retry = std::make_shared<asio::steady_timer>(acceptor->get_executor());
          retry->expires_after(std::chrono::milliseconds(50));
          retry->async_wait([self, retry](std::error_code) { self->acceptNext(); });
          return;
        }
        std::error_code ignored;
        const auto remote = socket.remote_endpoint(ignored);
        const std::string remote_text = ignored ? std::string("?") : formatEndpoint(remote);
        const std::string host = ignored ? std::string("?") : remote.address().to_string();
        std::shared_ptr<InboundHandshake> handshake;
        {
          std::lock_guard lock(self->mu_);
          const auto& options = self->context_->options;
          const auto by_host = self->pending_by_host_.find(host);
          const int from_host = by_host == self->pending_by_host_.end() ? 0 : by_host->second;
          if (self->closed_) {
            // close() came between the two looks: it stopped the handshakes it
            // saw, and would never stop this one.
            socket.close(ignored);
          } else if (self->pending_.size() >= static_cast<size_t>(options.max_pending_handshakes)) {
            ECCL_LOG_WARN("listener {}: {} handshakes pending; dropping connection from {}",
                          self->address_, self->pending_.size(), remote_text);
            socket.close(ignored);
          } else if (from_host >= options.max_pending_handshakes_per_host) {
            ECCL_LOG_WARN("listener {}: {} handshakes pending from {}; dropping connection from {}",
                          self->address_, from_host, host, remote_text);
            socket.close(ignored);
          } else {
            applySocketOptions(socket, self->context_->options, remote_text);
            auto stream = self->context_->stream(std::move(socket), auth::Side::kServer);
            if (stream) {
              auto connection = std::make_shared<FrameConnection>(
                  std::move(*stream), -1, self->context_->options.read_low_water);
              handshake = std::make_shared<InboundHandshake>(self, std::move(connection));
              ++self->live_handshakes_;
              self->pending_.emplace(handshake.get(), Pending{handshake, host});
              ++self->pending_by_host_[host];
            } else {
              ECCL_LOG_WARN("listener {}: dropping connection from {}: {}", self->address_,
                            remote_text, stream.status().message());
            }
          }
        }
        if (handshake) handshake->start(self->context_->options.handshake_timeout);
        self->acceptNext();
      });
}

void Acceptor::close() {
  std::vector<std::shared_ptr<FrameConnection>> to_stop;
  std::shared_ptr<asio::ip::tcp::acceptor> acceptor;
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
    acceptor = std::move(acceptor_);
    for (auto& [raw, pending] : pending_) {
      if (auto handshake = pending.handshake.lock()) to_stop.push_back(handshake->connection());
    }
    for (auto& [channel, group] : groups_) {
      for (auto& slot : group.slots) {
        if (slot) to_stop.push_back(slot->connection());
      }
    }
    groups_.clear();
  }
  // Closed and destroyed on its strand, on an I/O thread, while the context runs.
  asio::post(acceptor->get_executor(), [self = shared_from_this(), acceptor]() mutable {
    std::error_code ignored;
    acceptor->close(ignored);
    acceptor.reset();
    std::lock_guard lock(self->mu_);
    self->released_ = true;
  });
  for (auto& connection : to_stop)
    connection->stop();
}

bool Acceptor::quiesced() const {
  std::lock_guard lock(mu_);
  return released_ && !accept_pending_ && pending_.empty() && groups_.empty() &&
         handing_over_ == 0 && live_handshakes_.load(std::memory_order_acquire) == 0;
}

void Acceptor::onHandshakeDestroyed() {
  live_handshakes_.fetch_sub(1, std::memory_order_acq_rel);
}

void Acceptor::onHello(const std::shared_ptr<InboundHandshake>& handshake,
                       const protocol::Hello& hello,
                       const std::optional<tls::CertFingerprint>& certificate) {
  std::vector<std::shared_ptr<InboundHandshake>> to_reject;
  std::string reject_reason;
  std::shared_ptr<StripedChannelCore> core;
  {
    std::lock_guard lock(mu_);
    if (closed_) {
      to_reject.push_back(handshake);
      reject_reason = "listener is closing";
    } else {
      auto [it, inserted] = groups_.try_emplace(hello.channel);
      Group& group = it->second;
      if (inserted) {
        group.first = hello;
        group.certificate = certificate;
        group.slots.resize(hello.connection_count);
      }
      const protocol::Hello& first = group.first;
      std::string inconsistent;
      if (hello.endpoint != first.endpoint || hello.connection_count != first.connection_count ||
          hello.chunk_bytes != first.chunk_bytes || hello.pool_bytes != first.pool_bytes) {
        inconsistent = "connections of one channel disagree on endpoint, count or sizes";
      } else if (certificate != group.certificate) {
        inconsistent = "connections of one channel present different certificates";
      } else if (group.slots[hello.connection_index]) {
        inconsistent = "connection index " + std::to_string(hello.connection_index) + " used twice";
      }
      if (!inconsistent.empty()) {
        to_reject.push_back(handshake);
        reject_reason = inconsistent;
        abandonGroupLocked(hello.channel, to_reject);
      } else {
        group.slots[hello.connection_index] = handshake;
        if (++group.filled == hello.connection_count) {
          ChannelSetup setup;
          setup.options = context_->options;
          setup.peer.id = first.endpoint;
          setup.peer.address = group.slots[0]->connection()->remoteAddress();
          setup.peer.certificate = group.certificate;
          setup.peer.shared_memory = group.slots[0]->connection()->sharedMemory();
          for (const auto& slot : group.slots)
            setup.peer.rdma_connections += slot->connection()->rdma() ? 1 : 0;
          setup.peer_chunk_bytes = first.chunk_bytes;
          setup.peer_pool_bytes = first.pool_bytes;
          protocol::HelloAck ack;
          ack.endpoint = context_->id;
          ack.status = HandshakeStatus::kAccepted;
          ack.chunk_bytes = context_->options.chunk_bytes;
          ack.pool_bytes = context_->options.pool_bytes;
          const auto ack_frame = protocol::encodeFrame(ack, context_->options.checksum);
          for (auto& slot : group.slots) {
            setup.connections.push_back(slot->connection());
            setup.first_frames.push_back(
                OutgoingFrame::makeControl(MessageType::kHelloAck, ack_frame));
            erasePendingLocked(slot.get());
            slot->completed();
          }
          groups_.erase(it);
          core = std::make_shared<StripedChannelCore>(context_->io, std::move(setup));
          ++handing_over_;
        }
      }
    }
  }
  for (auto& h : to_reject) {
    ECCL_LOG_WARN("listener {}: refused channel from {}: {}", address_,
                  h->connection()->remoteAddress(), reject_reason);
    h->reject(HandshakeStatus::kRejected, reject_reason);
  }
  if (core) {
    context_->track(core);
    core->start();
    {
      std::lock_guard lock(mu_);
      --handing_over_;
    }
    if (on_channel_) on_channel_(std::make_unique<StripedChannel>(core));
  }
}

void Acceptor::erasePendingLocked(InboundHandshake* handshake) {
  auto it = pending_.find(handshake);
  if (it == pending_.end()) return;
  auto by_host = pending_by_host_.find(it->second.host);
  if (by_host != pending_by_host_.end() && --by_host->second <= 0) pending_by_host_.erase(by_host);
  pending_.erase(it);
}

void Acceptor::abandonGroupLocked(const EndpointId& channel,
                                  std::vector<std::shared_ptr<InboundHandshake>>& to_reject) {
  auto it = groups_.find(channel);
  if (it == groups_.end()) return;
  for (auto& slot : it->second.slots) {
    if (slot) {
      erasePendingLocked(slot.get());
      to_reject.push_back(slot);
    }
  }
  groups_.erase(it);
}

void Acceptor::onHandshakeEnded(InboundHandshake* handshake, const Status& why) {
  std::vector<std::shared_ptr<InboundHandshake>> to_reject;
  {
    std::lock_guard lock(mu_);
    erasePendingLocked(handshake);
    std::optional<EndpointId> channel_of;
    for (auto& [channel, group] : groups_) {
      for (auto& slot : group.slots) {
        if (slot.get() == handshake) {
          slot.reset();
          channel_of = channel;
        }
      }
    }
    if (channel_of) abandonGroupLocked(*channel_of, to_reject);
  }
  for (auto& h : to_reject) {
    h->reject(HandshakeStatus::kRejected,
              "another connection of the channel failed its handshake: " + why.message());
  }
}

}  // namespace eccl::transport::tcp
