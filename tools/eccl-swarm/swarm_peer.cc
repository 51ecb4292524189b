#include "tools/eccl-swarm/swarm_peer.h"

#include <algorithm>
#include <asio/post.hpp>
#include <random>

#include "src/protocol/control_messages.h"
#include "src/protocol/messages.h"

namespace eccl::tools::swarm {

using protocol::MessageType;

namespace {

constexpr std::chrono::milliseconds kFirstBackoff{100};
constexpr std::chrono::milliseconds kMaxBackoff{2'000};
// Refusals (e.g. the master's limit of unregistered connections) tolerated per peer.
constexpr int kMaxAttempts = 30;

// Spreads the peers' first heartbeats over one interval, as independent processes would be.
std::chrono::milliseconds jitter(std::chrono::milliseconds interval) {
  thread_local std::minstd_rand random(std::random_device{}());
  return std::chrono::milliseconds(random() % std::max<int64_t>(interval.count(), 1));
}

}  // namespace

SwarmPeer::SwarmPeer(asio::io_context& io, asio::ip::tcp::endpoint master, std::string group,
                     Board& board)
    : strand_(asio::make_strand(io)),
      master_(std::move(master)),
      group_(std::move(group)),
      id_(EndpointId::random()),
      board_(board),
      timer_(strand_) {}

void SwarmPeer::start() {
  asio::post(strand_, [self = shared_from_this()] { self->connect(); });
}

void SwarmPeer::vote() {
  asio::post(strand_, [self = shared_from_this()] {
    self->send(protocol::encodeFrame(protocol::TopologyVote{self->revision()}));
  });
}

void SwarmPeer::leave() {
  asio::post(strand_, [self = shared_from_this()] {
    if (!self->connection_ || !self->registered_) {
      self->closeNow();  // nothing to leave: it never got in
      return;
    }
    // Heartbeats go on until the master closes the connection, as
    // ControlClient's do: a master slow to handle the Leave must not see silence.
    self->leaving_ = true;
    self->send(protocol::encodeFrame(protocol::Leave{"eccl-swarm"}));
  });
}

void SwarmPeer::close() {
  asio::post(strand_, [self = shared_from_this()] { self->closeNow(); });
}

void SwarmPeer::closeNow() {
  closing_ = true;
  timer_.cancel();
  if (connection_) {
    connection_->close();  // onClosed counts it
  } else {
    noteClosed();  // between attempts, or an attempt in flight that onConnected drops
  }
}

void SwarmPeer::noteClosed() {
  if (counted_closed_) return;
  counted_closed_ = true;
  board_.update([](Progress& p) { ++p.closed; });
}

void SwarmPeer::connect() {
  if (closing_ || failed_) return;
  ++attempts_;
  auto socket = std::make_shared<asio::ip::tcp::socket>(strand_);
  socket->async_connect(master_, [self = shared_from_this(), socket](std::error_code ec) {
    self->onConnected(ec, std::move(*socket));
  });
}

void SwarmPeer::onConnected(std::error_code ec, asio::ip::tcp::socket socket) {
  if (closing_) {
    noteClosed();
    return;
  }
  if (ec) {
    retryLater("cannot connect to the master: " + ec.message());
    return;
  }
  std::error_code ignored;
  socket.set_option(asio::ip::tcp::no_delay(true), ignored);
  const auto local = socket.local_endpoint(ignored);
  protocol::Register request;
  request.peer = id_;
  request.group = group_;
  // No data listener: nothing dials this address, but the master wants one.
  request.host = local.address().to_string();
  request.data_port = local.port();
  connection_ = std::make_shared<ControlSocket>(std::move(socket));
  connection_->start(
      [self = shared_from_this()](const protocol::FrameHeader& header,
                                  std::span<const uint8_t> payload) {
        return self->dispatch(header.type, payload);
      },
      [self = shared_from_this()](const Status& why) { self->onClosed(why); });
  connection_->send(protocol::encodeFrame(request));
}

void SwarmPeer::retryLater(const std::string& why) {
  if (attempts_ >= kMaxAttempts) {
    fail("gave up registering after " + std::to_string(attempts_) + " attempts: " + why);
    return;
  }
  board_.update([](Progress& p) { ++p.retries; });
  const auto backoff = std::min(kMaxBackoff, kFirstBackoff * (1 << std::min(attempts_ - 1, 5)));
  timer_.expires_after(backoff);
  timer_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (!ec) self->connect();
  });
}

void SwarmPeer::fail(const std::string& why) {
  if (failed_) return;
  failed_ = true;
  board_.fail("peer " + id_.shortHex() + ": " + why);
}

void SwarmPeer::send(std::vector<uint8_t> frame) {
  if (connection_ && registered_) connection_->send(std::move(frame));
}

void SwarmPeer::armHeartbeat(std::chrono::milliseconds delay) {
  heartbeat_due_ = Clock::now() + delay;
  timer_.expires_at(heartbeat_due_);
  timer_.async_wait([self = shared_from_this()](std::error_code ec) {
    if (ec || !self->connection_ || self->closing_) return;
    self->heartbeat_sent_ = Clock::now();
    Board::raise(self->board_.max_timer_late_us,
                 std::chrono::duration_cast<std::chrono::microseconds>(self->heartbeat_sent_ -
                                                                       self->heartbeat_due_)
                     .count());
    self->send(protocol::encodeFrame(protocol::Heartbeat{++self->heartbeat_seq_, 0}));
    self->armHeartbeat(self->heartbeat_);
  });
}

Status SwarmPeer::dispatch(MessageType type, std::span<const uint8_t> payload) {
  switch (type) {
    case MessageType::kRegistered: {
      auto registered = protocol::decodeMessage<protocol::Registered>(payload);
      if (!registered) return registered.status();
      if (registered->peer != id_) return protocolError("Registered names another peer");
      registered_ = true;
      heartbeat_ = std::chrono::milliseconds(std::max<uint32_t>(registered->heartbeat_ms, 1));
      armHeartbeat(jitter(heartbeat_));
      const uint32_t interval = registered->heartbeat_ms;
      board_.update([interval](Progress& p) {
        ++p.registered;
        p.heartbeat_ms = interval;
      });
      return Status::ok();
    }
    case MessageType::kHeartbeatAck: {
      auto ack = protocol::decodeMessage<protocol::HeartbeatAck>(payload);
      if (!ack) return ack.status();
      board_.acks.fetch_add(1, std::memory_order_relaxed);
      if (ack->seq == heartbeat_seq_) {
        Board::raise(
            board_.max_heartbeat_rtt_us,
            std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - heartbeat_sent_)
                .count());
      }
      return Status::ok();
    }
    case MessageType::kTopology: {
      auto topology = protocol::decodeMessage<protocol::Topology>(payload);
      if (!topology) return topology.status();
      const bool member = std::any_of(topology->members.begin(), topology->members.end(),
                                      [&](const protocol::Member& m) { return m.peer == id_; });
      if (!member) return protocolError("a Topology that does not name this peer");
      // The data plane is not part of this measurement: report its channels up at once.
      send(protocol::encodeFrame(protocol::ChannelsReady{topology->revision}));
      return Status::ok();
    }
    case MessageType::kTopologyCommit: {
      auto commit = protocol::decodeMessage<protocol::TopologyCommit>(payload);
      if (!commit) return commit.status();
      revision_.store(commit->revision, std::memory_order_release);
      const auto now = Clock::now();
      board_.update([now](Progress& p) {
        ++p.committed;
        p.last_commit = now;
      });
      return Status::ok();
    }
    case MessageType::kPeerEvent: {
      auto event = protocol::decodeMessage<protocol::PeerEvent>(payload);
      if (!event) return event.status();
      // Nobody in a healthy swarm is lost or evicted.
      if (event->kind == protocol::PeerEventKind::kLost ||
          event->kind == protocol::PeerEventKind::kEvicted) {
        fail("the master reports peer " + event->peer.shortHex() +
             (event->kind == protocol::PeerEventKind::kLost ? " lost" : " evicted"));
      }
      return Status::ok();
    }
    case MessageType::kGroupStatus:
      return protocol::decodeMessage<protocol::GroupStatus>(payload).status();
    case MessageType::kControlError: {
      auto error = protocol::decodeMessage<protocol::ControlError>(payload);
      if (!error) return error.status();
      // After its Leave, a heartbeat crossing the master's close is refused: expected.
      if (!leaving_) fail("the master refused a request: " + protocol::printable(error->text));
      return Status::ok();
    }
    default:
      return protocolError("unexpected " + std::string(protocol::messageTypeName(type)) +
                           " from the master");
  }
}

void SwarmPeer::onClosed(const Status& why) {
  connection_.reset();
  timer_.cancel();
  const bool was_registered = registered_;
  registered_ = false;
  if (leaving_ || closing_) {
    noteClosed();
  } else if (!was_registered) {
    retryLater("the master closed the connection before registering it (" + why.message() + ")");
  } else {
    fail("lost the master: " + why.message());
  }
}

}  // namespace eccl::tools::swarm
