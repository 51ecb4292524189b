#include "src/membership/master_server.h"

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <deque>
#include <unordered_map>

#include "src/common/log.h"
#include "src/protocol/control_messages.h"
#include "src/protocol/messages.h"
#include "transport/secure_stream.h"
#include "transport/tcp/frame_connection.h"
#include "transport/tcp/tcp_stream.h"

namespace eccl::membership {

using protocol::MessageType;
using transport::tcp::FrameConnection;
using transport::tcp::OutgoingFrame;

namespace {
constexpr auto kSnapshotInterval = std::chrono::milliseconds(200);
// Largest batch of queued control frames a link writes at once.
constexpr size_t kMaxBatchBytes = 256u << 10;
}  // namespace

class MasterServer::Impl {
 public:
  // One peer's control connection. Everything runs on the master's single thread.
  class Link final : public transport::tcp::ConnectionDelegate,
                     public std::enable_shared_from_this<Link> {
   public:
    Link(Impl& server, ConnectionId id, std::shared_ptr<FrameConnection> connection,
         std::string host)
        : server_(server),
          id_(id),
          connection_(std::move(connection)),
          host_(std::move(host)),
          register_deadline_(server.io_) {}

    // The remote IP address, as the per-host limits count it.
    const std::string& host() const { return host_; }

    void start(std::chrono::milliseconds register_timeout) {
      connection_->start(shared_from_this());
      register_deadline_.expires_after(register_timeout);
      register_deadline_.async_wait([weak = weak_from_this()](std::error_code ec) {
        if (ec) return;
        if (auto self = weak.lock(); self && !self->peer_) {
          self->server_.dropLink(*self, "did not register in time");
        }
      });
    }

    void queue(std::vector<uint8_t> frame, MessageType type) {
      outgoing_.push_back({type, std::move(frame)});
      // One wake per batch, not per frame: a registration broadcasts to every peer.
      if (!wake_pending_) {
        wake_pending_ = true;
        connection_->wakeWriter();
      }
    }
    void closeAfterQueue() {
      close_after_queue_ = true;
      connection_->wakeWriter();
    }
    void stop() {
      register_deadline_.cancel();
      connection_->stop();
    }

    ConnectionId id() const { return id_; }
    const std::optional<EndpointId>& peer() const { return peer_; }
    std::optional<transport::tls::CertFingerprint> peerCertificate() const {
      return connection_->peerCertificate();
    }
    void setPeer(const EndpointId& peer) {
      peer_ = peer;
      register_deadline_.cancel();
    }
    std::string describe() const {
      std::string text = connection_->remoteAddress();
      if (peer_) text += " (peer " + peer_->shortHex() + ")";
      return text;
    }

    bool acceptsFrame(MessageType type) const override {
      if (!peer_) return type == MessageType::kRegister;
      return type == MessageType::kHeartbeat || type == MessageType::kTopologyVote ||
             type == MessageType::kChannelsReady || type == MessageType::kLeave ||
             type == MessageType::kPeerLookup || type == MessageType::kOpReport ||
             type == MessageType::kStateVote || type == MessageType::kStateDone ||
             type == MessageType::kStateFetchRequest || type == MessageType::kStateFetchDone ||
             type == MessageType::kStageMetric || type == MessageType::kStageQuery ||
             type == MessageType::kStageAnnounce || type == MessageType::kPeerReport;
    }
    Status onControlFrame(FrameConnection&, const protocol::FrameHeader& header,
                          std::span<const uint8_t> payload) override {
      return server_.onFrame(*this, header.type, payload);
    }
    Result<transport::tcp::ChunkTarget> onChunkHeader(FrameConnection&,
                                                      const protocol::FrameHeader&,
                                                      const protocol::ChunkHeader&) override {
      return protocolError("data chunk on a control connection");
    }
    Status onChunkPayload(FrameConnection&, const transport::tcp::ChunkTarget&, Status) override {
      return protocolError("data chunk on a control connection");
    }
    std::unique_ptr<OutgoingFrame> nextFrame(FrameConnection& connection) override {
      wake_pending_ = false;
      if (!outgoing_.empty()) {
        // Whatever queued up goes out in one write (frames are self-delimiting):
        // with many peers, a syscall per small frame starved the loop of heartbeats.
        auto [type, bytes] = std::move(outgoing_.front());
        outgoing_.pop_front();
        while (!outgoing_.empty() && bytes.size() < kMaxBatchBytes) {
          const auto& next = outgoing_.front().second;
          bytes.insert(bytes.end(), next.begin(), next.end());
          outgoing_.pop_front();
        }
        return OutgoingFrame::makeControl(type, std::move(bytes));
      }
      if (close_after_queue_) connection.stop();
      return nullptr;
    }
    void onFrameWritten(FrameConnection&, OutgoingFrame&) override {}
    void onDetached(FrameConnection&, const transport::tcp::ChunkRef&) override {}
    void onConnectionError(FrameConnection&, Status error) override {
      server_.onLinkError(*this, std::move(error));
    }
    void onConnectionStopped(FrameConnection&) override { server_.onLinkStopped(*this); }

   private:
    Impl& server_;
    const ConnectionId id_;
    const std::shared_ptr<FrameConnection> connection_;
    const std::string host_;
    asio::steady_timer register_deadline_;
    std::optional<EndpointId> peer_;
    std::deque<std::pair<MessageType, std::vector<uint8_t>>> outgoing_;
    bool close_after_queue_ = false;
    // A wakeWriter() is on its way and nextFrame() has not run since. The loop
    // has one thread, so queue() and nextFrame() never run at the same time.
    bool wake_pending_ = false;
  };

  explicit Impl(MasterOptions options)
      : options_(std::move(options)), acceptor_(io_), tick_timer_(io_), state_(options_.settings) {}

  // Binds and listens; the loop starts in run().
  Status open() {
    std::error_code ec;
    asio::ip::tcp::resolver resolver(io_);
    auto results = resolver.resolve(options_.listen_host, std::to_string(options_.listen_port),
                                    asio::ip::tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      return invalidArgument("master: cannot resolve listen address " + options_.listen_host +
                             ": " + ec.message());
    }
    const auto endpoint = results.begin()->endpoint();
    const std::string where = transport::tcp::formatEndpoint(endpoint);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) return systemError("master: cannot listen on " + where + ": " + ec.message());
    const auto local = acceptor_.local_endpoint(ec);
    port_ = local.port();
    address_ = transport::tcp::formatEndpoint(local);
    refreshSnapshot(Clock::now());
    return Status::ok();
  }

  Status run() {
    if (stopped_.load()) return Status::ok();
    asio::post(io_, [this] {
      acceptNext();
      armTick();
    });
    try {
      io_.run();
    } catch (const std::exception& e) {
      return internalError(std::string("master event loop: ") + e.what());
    }
    return Status::ok();
  }

  void stop() {
    if (stopped_.exchange(true)) return;
    asio::post(io_, [this] {
      std::error_code ignored;
      acceptor_.close(ignored);
      tick_timer_.cancel();
      for (auto& [id, link] : links_)
        link->stop();
      // run() returns once the connections have wound down.
    });
  }

  uint16_t port() const { return port_; }
  const std::string& address() const { return address_; }
  MasterSnapshot snapshot() const {
    std::lock_guard lock(snapshot_mu_);
    return snapshot_;
  }

  // First member: everything below runs on it.
  asio::io_context io_{1};

 private:
  void acceptNext() {
    acceptor_.async_accept(
        asio::make_strand(io_), [this](std::error_code ec, asio::ip::tcp::socket socket) {
          if (ec) {
            if (ec == asio::error::operation_aborted || stopped_.load()) return;
            ECCL_LOG_WARN("master {}: accept failed: {}", address_, ec.message());
            auto retry = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds(50));
            retry->async_wait([this, retry](std::error_code) { acceptNext(); });
            return;
          }
          admit(std::move(socket));
          acceptNext();
        });
  }

  void admit(asio::ip::tcp::socket socket) {
    std::error_code ignored;
    const auto remote = socket.remote_endpoint(ignored);
    const std::string remote_text =
        ignored ? std::string("?") : transport::tcp::formatEndpoint(remote);
    const std::string host = ignored ? std::string("?") : remote.address().to_string();
    if (unregistered_ >= options_.max_unregistered) {
      ECCL_LOG_WARN("master {}: {} connections have not registered yet; dropping {}", address_,
                    unregistered_, remote_text);
      socket.close(ignored);
      return;
    }
    // One host must not fill the table and lock everyone else out.
    if (int& from_host = unregistered_by_host_[host];
        from_host >= options_.max_unregistered_per_host) {
      ECCL_LOG_WARN("master {}: {} connections from {} have not registered yet; dropping {}",
                    address_, from_host, host, remote_text);
      socket.close(ignored);
      return;
    }
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    socket.set_option(asio::socket_base::keep_alive(true), ignored);
    auto stream = transport::secureStream(std::move(socket), transport::auth::Side::kServer,
                                          options_.tls, options_.secret);
    if (!stream) {
      ECCL_LOG_WARN("master {}: dropping connection from {}: {}", address_, remote_text,
                    stream.status().message());
      return;
    }
    auto connection = std::make_shared<FrameConnection>(std::move(*stream), 0);
    const ConnectionId id = ++last_connection_;
    auto link = std::make_shared<Link>(*this, id, std::move(connection), host);
    links_.emplace(id, link);
    ++unregistered_;
    ++unregistered_by_host_[host];
    link->start(options_.register_timeout);
  }

  void armTick() {
    const auto period =
        std::max<Clock::duration>(std::chrono::milliseconds(5), options_.settings.heartbeat / 4);
    const auto due = Clock::now() + period;
    tick_timer_.expires_at(due);
    tick_timer_.async_wait([this, due](std::error_code ec) {
      if (ec || stopped_.load()) return;
      const auto now = Clock::now();
      Outbox out;
      // A tick this late means the loop was too busy to read heartbeats: they
      // may be waiting in the sockets, so the delay is not the peers' silence.
      if (const auto late = now - due; late > options_.settings.heartbeat / 2) {
        ECCL_LOG_INFO("master: event loop stalled for {} ms; heartbeat deadlines extended",
                      std::chrono::duration_cast<std::chrono::milliseconds>(late).count());
        state_.forgiveStall(late);
      }
      state_.tick(now, out);
      deliver(out);
      if (now - last_snapshot_ >= kSnapshotInterval) refreshSnapshot(now);
      armTick();
    });
  }

  void refreshSnapshot(Clock::time_point now) {
    MasterSnapshot fresh = state_.snapshot(now);
    last_snapshot_ = now;
    std::lock_guard lock(snapshot_mu_);
    snapshot_ = std::move(fresh);
  }

  void deliver(Outbox& out) {
    for (auto& item : out) {
      auto it = links_.find(item.connection);
      if (it == links_.end()) continue;
      Link& link = *it->second;
      if (!item.frame.empty()) {
        auto header = protocol::decodeFrameHeader(item.frame);
        link.queue(std::move(item.frame), header ? header->type : MessageType::kControlError);
      }
      if (item.close_after) {
        if (item.frame.empty()) {
          link.stop();  // a lost or evicted peer: it may not be reading at all
        } else {
          link.closeAfterQueue();
        }
      }
    }
    out.clear();
  }

  template <typename Message>
  Result<Message> decode(Link& link, std::span<const uint8_t> payload) {
    auto message = protocol::decodeMessage<Message>(payload);
    if (!message) return message.status().withContext("from " + link.describe());
    return message;
  }

  Status onFrame(Link& link, MessageType type, std::span<const uint8_t> payload) {
    const auto now = Clock::now();
    Outbox out;
    Status verdict;
    if (!link.peer()) {
      auto request = decode<protocol::Register>(link, payload);
      if (!request) return request.status();
      auto peer = state_.onRegister(link.id(), *request, link.peerCertificate(), now, out);
      if (!peer) {
        ECCL_LOG_WARN("master {}: refused registration from {}: {}", address_, link.describe(),
                      peer.status().toString());
        link.queue(protocol::encodeFrame(
                       protocol::ControlError{peer.status().code(), peer.status().message()}),
                   MessageType::kControlError);
        link.closeAfterQueue();  // still counted as unregistered until it is gone
        return Status::ok();
      }
      unregisteredGone(link);
      link.setPeer(*peer);
      ECCL_LOG_INFO("master {}: {} registered in group '{}'", address_, link.describe(),
                    request->group);
    } else {
      const EndpointId peer = *link.peer();
      switch (type) {
        case MessageType::kHeartbeat: {
          auto beat = decode<protocol::Heartbeat>(link, payload);
          if (!beat) return beat.status();
          verdict = state_.onHeartbeat(peer, *beat, now, out);
          break;
        }
        case MessageType::kTopologyVote: {
          auto vote = decode<protocol::TopologyVote>(link, payload);
          if (!vote) return vote.status();
          verdict = state_.onVote(peer, *vote, now, out);
          break;
        }
        case MessageType::kChannelsReady: {
          auto ready = decode<protocol::ChannelsReady>(link, payload);
          if (!ready) return ready.status();
          verdict = state_.onChannelsReady(peer, *ready, now, out);
          break;
        }
        case MessageType::kPeerLookup: {
          auto lookup = decode<protocol::PeerLookup>(link, payload);
          if (!lookup) return lookup.status();
          verdict = state_.onPeerLookup(peer, *lookup, out);
          break;
        }
        case MessageType::kOpReport: {
          auto report = decode<protocol::OpReport>(link, payload);
          if (!report) return report.status();
          verdict = state_.onOpReport(peer, *report, out);
          break;
        }
        case MessageType::kStateVote: {
          auto vote = decode<protocol::StateVote>(link, payload);
          if (!vote) return vote.status();
          verdict = state_.onStateVote(peer, *vote, out);
          break;
        }
        case MessageType::kStateDone: {
          auto done = decode<protocol::StateDone>(link, payload);
          if (!done) return done.status();
          verdict = state_.onStateDone(peer, *done, out);
          break;
        }
        case MessageType::kStateFetchRequest: {
          auto request = decode<protocol::StateFetchRequest>(link, payload);
          if (!request) return request.status();
          ECCL_LOG_INFO(
              "master {}: {} asks to fetch the shared state{} (fetch {}, {} entries, pace {} B/s)",
              address_, link.describe(),
              request->group.empty() ? "" : " of group '" + request->group + "'", request->fetch,
              request->entries.size(), request->bytes_per_s);
          verdict = state_.onStateFetchRequest(peer, *request, out);
          break;
        }
        case MessageType::kStateFetchDone: {
          auto done = decode<protocol::StateFetchDone>(link, payload);
          if (!done) return done.status();
          ECCL_LOG_INFO(
              "master {}: {} fetched the shared state of sync {} (fetch {}, {} entries verified, "
              "{} missing)",
              address_, link.describe(), done->sync, done->fetch, done->entries_verified,
              done->entries_missing);
          verdict = state_.onStateFetchDone(peer, *done, now, out);
          break;
        }
        case MessageType::kStageMetric: {
          auto metric = decode<protocol::StageMetric>(link, payload);
          if (!metric) return metric.status();
          verdict = state_.onStageMetric(peer, *metric, out);
          break;
        }
        case MessageType::kStageQuery: {
          auto query = decode<protocol::StageQuery>(link, payload);
          if (!query) return query.status();
          verdict = state_.onStageQuery(peer, *query, out);
          break;
        }
        case MessageType::kPeerReport: {
          auto report = decode<protocol::PeerReport>(link, payload);
          if (!report) return report.status();
          verdict = state_.onPeerReport(peer, *report, now);
          break;
        }
        case MessageType::kStageAnnounce: {
          auto announce = decode<protocol::StageAnnounce>(link, payload);
          if (!announce) return announce.status();
          ECCL_LOG_INFO("master {}: {} announces its stage recovered from round {}", address_,
                        link.describe(), announce->round);
          verdict = state_.onStageAnnounce(peer, *announce, out);
          break;
        }
        case MessageType::kLeave: {
          auto leave = decode<protocol::Leave>(link, payload);
          if (!leave) return leave.status();
          ECCL_LOG_INFO("master {}: {} leaves: {}", address_, link.describe(),
                        protocol::printable(leave->reason));
          state_.onLeave(peer, now, out);
          link.closeAfterQueue();
          break;
        }
        default:
          return protocolError("unexpected " + std::string(protocol::messageTypeName(type)));
      }
    }
    if (!verdict.isOk()) {
      // The peer's misuse (e.g. a vote out of phase): it is told, and kept.
      ECCL_LOG_WARN("master {}: {}: {}", address_, link.describe(), verdict.toString());
      link.queue(protocol::encodeFrame(protocol::ControlError{verdict.code(), verdict.message()}),
                 MessageType::kControlError);
    }
    deliver(out);
    return Status::ok();
  }

  void onLinkError(Link& link, Status error) {
    if (error.code() == Code::kConnectionError) {
      ECCL_LOG_INFO("master {}: connection from {} ended: {}", address_, link.describe(),
                    error.message());
    } else {
      ECCL_LOG_WARN("master {}: dropped connection from {}: {}", address_, link.describe(),
                    error.toString());
    }
    link.stop();
  }

  void dropLink(Link& link, const std::string& why) {
    ECCL_LOG_WARN("master {}: dropped connection from {}: {}", address_, link.describe(), why);
    link.stop();
  }

  void unregisteredGone(const Link& link) {
    --unregistered_;
    auto it = unregistered_by_host_.find(link.host());
    if (it != unregistered_by_host_.end() && --it->second <= 0) unregistered_by_host_.erase(it);
  }

  void onLinkStopped(Link& link) {
    if (link.peer()) {
      Outbox out;
      state_.onConnectionClosed(*link.peer(), link.id(), Clock::now(), out);
      deliver(out);
    } else {
      unregisteredGone(link);
    }
    links_.erase(link.id());  // the connection still holds the link until it returns
  }

  const MasterOptions options_;
  asio::ip::tcp::acceptor acceptor_;
  asio::steady_timer tick_timer_;
  MasterState state_;
  std::unordered_map<ConnectionId, std::shared_ptr<Link>> links_;
  ConnectionId last_connection_ = 0;
  int unregistered_ = 0;
  std::unordered_map<std::string, int> unregistered_by_host_;
  std::atomic<bool> stopped_{false};
  uint16_t port_ = 0;
  std::string address_;
  Clock::time_point last_snapshot_;
  mutable std::mutex snapshot_mu_;
  MasterSnapshot snapshot_;
};

Result<std::unique_ptr<MasterServer>> MasterServer::create(MasterOptions options) {
  if (options.settings.heartbeat.count() <= 0 || options.settings.miss_limit == 0) {
    return invalidArgument("master: heartbeat interval and miss limit must be positive");
  }
  if (options.max_unregistered < 1 || options.max_unregistered_per_host < 1) {
    return invalidArgument("master: the limits on unregistered connections must be >= 1");
  }
  if (!options.secret && options.security_from_environment) {
    auto secret = transport::auth::ClusterSecret::fromEnvironment();
    if (!secret) return secret.status().withContext("master");
    options.secret = std::move(*secret);
  }
  if (options.secret) ECCL_LOG_INFO("master: connections must prove the cluster secret");
  if (!options.tls && options.security_from_environment) {
    auto tls = transport::tls::TlsContext::fromEnvironment();
    if (!tls) return tls.status().withContext("master");
    options.tls = std::move(*tls);
  }
  if (options.tls) {
    ECCL_LOG_INFO("master: connections must be TLS with a certificate of the cluster's CA");
  }
  auto impl = std::make_unique<Impl>(std::move(options));
  ECCL_RETURN_IF_ERROR(impl->open());
  return std::unique_ptr<MasterServer>(new MasterServer(std::move(impl)));
}

MasterServer::MasterServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
MasterServer::~MasterServer() = default;
uint16_t MasterServer::port() const {
  return impl_->port();
}
std::string MasterServer::address() const {
  return impl_->address();
}
Status MasterServer::run() {
  return impl_->run();
}
void MasterServer::stop() {
  impl_->stop();
}
MasterSnapshot MasterServer::snapshot() const {
  return impl_->snapshot();
}

}  // namespace eccl::membership
