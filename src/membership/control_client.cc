#include "src/membership/control_client.h"

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <deque>
#include <future>
#include <mutex>

#include "src/common/log.h"
#include "src/protocol/messages.h"
#include "transport/io_pool.h"
#include "transport/secure_stream.h"
#include "transport/tcp/frame_connection.h"

namespace eccl::membership {

using protocol::MessageType;
using transport::tcp::FrameConnection;
using transport::tcp::OutgoingFrame;

namespace {
constexpr std::chrono::milliseconds kFirstBackoff{100};
}

// Everything below runs on the client's single I/O thread, except the public
// entry points, which only post to it.
class ControlClient::Impl : public std::enable_shared_from_this<Impl> {
 public:
  // The delegate of one control connection.
  class Link final : public transport::tcp::ConnectionDelegate {
   public:
    explicit Link(std::weak_ptr<Impl> client) : client_(std::move(client)) {}

    void queue(MessageType type, std::vector<uint8_t> frame) {
      outgoing_.push_back(OutgoingFrame::makeControl(type, std::move(frame)));
    }
    std::function<void()> on_written;  // called after each frame goes out

    bool acceptsFrame(MessageType type) const override {
      switch (type) {
        case MessageType::kRegistered:
        case MessageType::kHeartbeatAck:
        case MessageType::kTopology:
        case MessageType::kTopologyCommit:
        case MessageType::kPeerEvent:
        case MessageType::kGroupStatus:
        case MessageType::kControlError:
        case MessageType::kPeerAddress:
        case MessageType::kOpVerdict:
        case MessageType::kStatePlan:
        case MessageType::kStateFetchPlan:
        case MessageType::kStageInfo:
        case MessageType::kStageEvent:
        case MessageType::kAnomalyEvent:
          return true;
        default:
          return false;
      }
    }
    Status onControlFrame(FrameConnection&, const protocol::FrameHeader& header,
                          std::span<const uint8_t> payload) override {
      auto client = client_.lock();
      return client ? client->dispatch(header.type, payload) : Status::ok();
    }
    Result<transport::tcp::ChunkTarget> onChunkHeader(FrameConnection&,
                                                      const protocol::FrameHeader&,
                                                      const protocol::ChunkHeader&) override {
      return protocolError("data chunk on the control connection");
    }
    Status onChunkPayload(FrameConnection&, const transport::tcp::ChunkTarget&, Status) override {
      return protocolError("data chunk on the control connection");
    }
    std::unique_ptr<OutgoingFrame> nextFrame(FrameConnection&) override {
      if (outgoing_.empty()) return nullptr;
      auto frame = std::move(outgoing_.front());
      outgoing_.pop_front();
      return frame;
    }
    void onFrameWritten(FrameConnection&, OutgoingFrame&) override {
      if (on_written) on_written();
    }
    void onDetached(FrameConnection&, const transport::tcp::ChunkRef&) override {}
    void onConnectionError(FrameConnection& connection, Status error) override {
      connection.stop();
      if (auto client = client_.lock()) client->lost(this, std::move(error));
    }
    void onConnectionStopped(FrameConnection&) override {
      if (auto client = client_.lock()) client->lost(this, connectionError("connection closed"));
    }

   private:
    std::weak_ptr<Impl> client_;
    std::deque<std::unique_ptr<OutgoingFrame>> outgoing_;
  };

  Impl(Options options, Owner& owner)
      : options_(std::move(options)),
        owner_(&owner),
        retry_timer_(io_.primary()),
        heartbeat_timer_(io_.primary()),
        connect_timer_(io_.primary()) {}

  void start() {
    asio::post(io_.primary(), [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->connect();
    });
  }

  void send(MessageType type, std::vector<uint8_t> frame) {
    asio::post(io_.primary(), [weak = weak_from_this(), type, frame = std::move(frame)]() mutable {
      auto self = weak.lock();
      if (!self || !self->link_ || !self->registered_) return;
      self->link_->queue(type, std::move(frame));
      self->connection_->wakeWriter();
    });
  }

  void leave(const std::string& reason, std::chrono::milliseconds wait) {
    auto written = std::make_shared<std::promise<void>>();
    auto done = written->get_future();
    asio::post(io_.primary(), [weak = weak_from_this(), reason, written] {
      auto self = weak.lock();
      if (!self || !self->link_) {
        written->set_value();
        return;
      }
      self->leaving_ = true;
      self->link_->on_written = [written, once = std::make_shared<bool>(false)] {
        if (!*once) {
          *once = true;
          written->set_value();
        }
      };
      self->link_->queue(MessageType::kLeave, protocol::encodeFrame(protocol::Leave{reason}));
      self->connection_->wakeWriter();
    });
    if (!io_.onIoThread()) done.wait_for(wait);
  }

  // Stops every callback to the owner, closes the connection and the thread.
  void shutdown() {
    {
      std::lock_guard lock(owner_mu_);
      owner_ = nullptr;
    }
    // Close on the loop and wait for it, so no handler is left queued that holds
    // this Impl alive through the io_context it owns.
    if (io_.onIoThread()) {
      close();
      io_.stop();
      return;
    } else {
      std::promise<void> closed;
      asio::post(io_.primary(), [this, &closed] {
        close();
        closed.set_value();
      });
      closed.get_future().wait();
    }
    io_.stop();
    io_.drain();
  }
  void stopConnecting() {
    asio::post(io_.primary(), [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->close();
    });
  }
  bool connected() const { return connected_.load(); }

 private:
  template <typename Fn>
  void withOwner(Fn&& fn) {
    std::lock_guard lock(owner_mu_);
    if (owner_ != nullptr) fn(*owner_);
  }

  void close() {
    closed_ = true;
    retry_timer_.cancel();
    heartbeat_timer_.cancel();
    connect_timer_.cancel();
    if (connection_) connection_->stop();
  }

  void connect() {
    if (closed_) return;
    auto socket = std::make_shared<asio::ip::tcp::socket>(asio::make_strand(io_.primary()));
    auto resolver = std::make_shared<asio::ip::tcp::resolver>(io_.primary());
    const uint64_t attempt = ++attempt_;
    connect_timer_.expires_after(options_.connect_timeout);
    connect_timer_.async_wait([weak = weak_from_this(), socket, attempt](std::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || self->attempt_ != attempt || self->connection_) return;
      asio::post(socket->get_executor(), [socket] {
        std::error_code ignored;
        socket->close(ignored);
      });
    });
    resolver->async_resolve(
        options_.master_host, std::to_string(options_.master_port),
        [weak = weak_from_this(), socket, resolver](std::error_code ec, auto results) {
          auto self = weak.lock();
          if (!self) return;
          if (ec) {
            self->retry(
                connectionError("cannot resolve master " + self->target() + ": " + ec.message()));
            return;
          }
          asio::async_connect(*socket, results,
                              [weak, socket](std::error_code connect_ec, const auto&) {
                                auto client = weak.lock();
                                if (!client) return;
                                asio::post(client->io_.primary(), [client, socket, connect_ec] {
                                  client->connected(connect_ec, std::move(*socket));
                                });
                              });
        });
  }

  void connected(std::error_code ec, asio::ip::tcp::socket socket) {
    connect_timer_.cancel();
    if (closed_) return;
    if (ec) {
      retry(connectionError("cannot reach master " + target() + ": " + ec.message()));
      return;
    }
    std::error_code ignored;
    socket.set_option(asio::ip::tcp::no_delay(true), ignored);
    socket.set_option(asio::socket_base::keep_alive(true), ignored);
    const std::string local_ip = socket.local_endpoint(ignored).address().to_string();
    auto stream = transport::secureStream(std::move(socket), transport::auth::Side::kClient,
                                          options_.tls, options_.secret);
    if (!stream) {
      retry(stream.status());
      return;
    }
    connection_ = std::make_shared<FrameConnection>(std::move(*stream), 0);
    link_ = std::make_shared<Link>(weak_from_this());
    protocol::Register request;
    withOwner([&](Owner& owner) { request = owner.makeRegister(local_ip); });
    link_->queue(MessageType::kRegister, protocol::encodeFrame(request));
    connection_->start(link_);
  }

  void retry(Status why) {
    if (closed_) return;
    ECCL_LOG_DEBUG("master {}: {}; retrying in {} ms", target(), why.message(), backoff_.count());
    retry_timer_.expires_after(backoff_);
    backoff_ = std::min(backoff_ * 2, options_.max_backoff);
    retry_timer_.async_wait([weak = weak_from_this()](std::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->connect();
    });
  }

  void lost(Link* link, Status why) {
    if (link != link_.get()) return;  // an older connection, already replaced
    link_.reset();
    connection_.reset();
    registered_ = false;
    connected_ = false;
    heartbeat_timer_.cancel();
    if (closed_ || leaving_) return;
    ECCL_LOG_WARN("lost the master {}: {}", target(), why.message());
    withOwner([&](Owner& owner) { owner.onMasterLost(why); });
    retry(std::move(why));
  }

  void heartbeat() {
    heartbeat_timer_.expires_after(heartbeat_interval_);
    heartbeat_timer_.async_wait([weak = weak_from_this()](std::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || !self->link_ || self->closed_) return;
      protocol::Heartbeat beat;
      beat.seq = ++self->heartbeat_seq_;
      std::optional<protocol::PeerReport> report;
      self->withOwner([&](Owner& owner) {
        beat.ops_completed = owner.opsCompleted();
        report = owner.peerReport();
      });
      self->link_->queue(MessageType::kHeartbeat, protocol::encodeFrame(beat));
      if (report) self->link_->queue(MessageType::kPeerReport, protocol::encodeFrame(*report));
      self->connection_->wakeWriter();
      self->heartbeat();
    });
  }

  template <typename Message>
  Result<Message> decode(std::span<const uint8_t> payload) {
    return protocol::decodeMessage<Message>(payload);
  }

  Status dispatch(MessageType type, std::span<const uint8_t> payload) {
    switch (type) {
      case MessageType::kRegistered: {
        auto registered = decode<protocol::Registered>(payload);
        if (!registered) return registered.status();
        registered_ = true;
        connected_ = true;
        backoff_ = kFirstBackoff;
        heartbeat_interval_ = std::chrono::milliseconds(registered->heartbeat_ms);
        heartbeat();
        withOwner([&](Owner& owner) { owner.onRegistered(*registered); });
        return Status::ok();
      }
      case MessageType::kHeartbeatAck:
        return decode<protocol::HeartbeatAck>(payload).status();
      case MessageType::kTopology: {
        auto topology = decode<protocol::Topology>(payload);
        if (!topology) return topology.status();
        withOwner([&](Owner& owner) { owner.onTopology(*topology); });
        return Status::ok();
      }
      case MessageType::kTopologyCommit: {
        auto commit = decode<protocol::TopologyCommit>(payload);
        if (!commit) return commit.status();
        withOwner([&](Owner& owner) { owner.onCommit(*commit); });
        return Status::ok();
      }
      case MessageType::kPeerEvent: {
        auto event = decode<protocol::PeerEvent>(payload);
        if (!event) return event.status();
        withOwner([&](Owner& owner) { owner.onPeerEvent(*event); });
        return Status::ok();
      }
      case MessageType::kGroupStatus: {
        auto status = decode<protocol::GroupStatus>(payload);
        if (!status) return status.status();
        withOwner([&](Owner& owner) { owner.onGroupStatus(*status); });
        return Status::ok();
      }
      case MessageType::kControlError: {
        auto error = decode<protocol::ControlError>(payload);
        if (!error) return error.status();
        withOwner([&](Owner& owner) { owner.onControlError(*error); });
        return Status::ok();
      }
      case MessageType::kPeerAddress: {
        auto address = decode<protocol::PeerAddress>(payload);
        if (!address) return address.status();
        withOwner([&](Owner& owner) { owner.onPeerAddress(*address); });
        return Status::ok();
      }
      case MessageType::kOpVerdict: {
        auto verdict = decode<protocol::OpVerdict>(payload);
        if (!verdict) return verdict.status();
        withOwner([&](Owner& owner) { owner.onOpVerdict(*verdict); });
        return Status::ok();
      }
      case MessageType::kStatePlan: {
        auto plan = decode<protocol::StatePlan>(payload);
        if (!plan) return plan.status();
        withOwner([&](Owner& owner) { owner.onStatePlan(*plan); });
        return Status::ok();
      }
      case MessageType::kStateFetchPlan: {
        auto plan = decode<protocol::StateFetchPlan>(payload);
        if (!plan) return plan.status();
        withOwner([&](Owner& owner) { owner.onStateFetchPlan(*plan); });
        return Status::ok();
      }
      case MessageType::kStageInfo: {
        auto info = decode<protocol::StageInfo>(payload);
        if (!info) return info.status();
        withOwner([&](Owner& owner) { owner.onStageInfo(*info); });
        return Status::ok();
      }
      case MessageType::kStageEvent: {
        auto event = decode<protocol::StageEvent>(payload);
        if (!event) return event.status();
        withOwner([&](Owner& owner) { owner.onStageEvent(*event); });
        return Status::ok();
      }
      case MessageType::kAnomalyEvent: {
        auto event = decode<protocol::AnomalyEvent>(payload);
        if (!event) return event.status();
        withOwner([&](Owner& owner) { owner.onAnomalyEvent(*event); });
        return Status::ok();
      }
      default:
        return protocolError("unexpected " + std::string(protocol::messageTypeName(type)) +
                             " from the master");
    }
  }

  std::string target() const {
    return options_.master_host + ":" + std::to_string(options_.master_port);
  }

  transport::IoPool io_{1};  // first member: destroyed last, after what runs on it
  const Options options_;
  std::mutex owner_mu_;
  Owner* owner_;
  asio::steady_timer retry_timer_;
  asio::steady_timer heartbeat_timer_;
  asio::steady_timer connect_timer_;
  std::shared_ptr<FrameConnection> connection_;
  std::shared_ptr<Link> link_;
  std::chrono::milliseconds backoff_{kFirstBackoff};
  std::chrono::milliseconds heartbeat_interval_{250};
  uint64_t heartbeat_seq_ = 0;
  uint64_t attempt_ = 0;
  bool registered_ = false;
  bool closed_ = false;
  bool leaving_ = false;
  std::atomic<bool> connected_{false};
};

ControlClient::ControlClient(Options options, Owner& owner)
    : impl_(std::make_shared<Impl>(std::move(options), owner)) {}

ControlClient::~ControlClient() {
  impl_->shutdown();
}

void ControlClient::start() {
  impl_->start();
}

void ControlClient::send(MessageType type, std::vector<uint8_t> frame) {
  impl_->send(type, std::move(frame));
}

void ControlClient::leave(const std::string& reason, std::chrono::milliseconds wait) {
  impl_->leave(reason, wait);
}

void ControlClient::stopConnecting() {
  impl_->stopConnecting();
}

bool ControlClient::connected() const {
  return impl_->connected();
}

}  // namespace eccl::membership
