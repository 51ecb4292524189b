#include "transport/tcp/striped_channel.h"

#include <algorithm>
#include <asio/ip/address.hpp>
#include <asio/post.hpp>
#include <utility>

#include "src/common/log.h"
#include "src/protocol/checksum.h"

namespace eccl::transport::tcp {

using protocol::FrameHeader;
using protocol::MessageType;

namespace {

constexpr auto kCloseGrace = std::chrono::seconds(2);

std::chrono::milliseconds pingInterval(const ChannelOptions& options) {
  return std::max(std::chrono::milliseconds(5), options.idle_timeout / 4);
}

// "ip:port" or "[ip]:port" of the loopback interface (127.0.0.0/8, ::1).
bool isLoopback(const std::string& address) {
  std::string host = address.substr(0, address.rfind(':'));
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  std::error_code ec;
  const asio::ip::address ip = asio::ip::make_address(host, ec);
  return !ec && ip.is_loopback();
}

// The channel's own options: checksums resolved for this peer's address.
ChannelOptions forPeer(ChannelOptions options, const PeerInfo& peer) {
  options.checksum =
      options.checksum || (options.checksum_beyond_loopback && !isLoopback(peer.address));
  return options;
}

int workingConnections(const std::vector<std::shared_ptr<FrameConnection>>& connections) {
  const bool all_shared =
      !connections.empty() && std::all_of(connections.begin(), connections.end(),
                                          [](const auto& c) { return c->sharedMemory(); });
  return all_shared ? kWorkingConnectionsOverSharedMemory : static_cast<int>(connections.size());
}

}  // namespace

StripedChannelCore::StripedChannelCore(asio::io_context& io, ChannelSetup setup)
    : options_(forPeer(setup.options, setup.peer)),
      peer_(setup.peer),
      connection_count_(static_cast<int>(setup.connections.size())),
      working_connections_(workingConnections(setup.connections)),
      connections_(std::move(setup.connections)),
      timers_(std::make_shared<Timers>(io)),
      send_(SendQueueConfig{options_.chunk_bytes, setup.peer_pool_bytes, options_.hedge_tail_chunks,
                            options_.hedge_min_bytes}),
      recv_(RecvTableConfig{setup.peer_chunk_bytes, options_.pool_bytes}),
      first_frames_(std::move(setup.first_frames)),
      idle_(connection_count_, false),
      ping_due_(connection_count_, false),
      goodbye_sent_(connection_count_, false),
      goodbye_received_(connection_count_, false) {
  first_frames_.resize(connection_count_);
}

StripedChannelCore::~StripedChannelCore() = default;

void StripedChannelCore::start() {
  ConnectionList connections;
  std::shared_ptr<Timers> timers;
  {
    std::lock_guard lock(mu_);
    connections = connections_;
    timers = timers_;
  }
  for (auto& connection : connections)
    connection->attach(shared_from_this());
  asio::post(timers->strand, [self = shared_from_this()] { self->armLivenessTimer(); });
  ECCL_LOG_INFO("channel to {} up: {} connections ({}), chunk {} B", peer_.describe(),
                connection_count_,
                peer_.shared_memory           ? "shared memory"
                : peer_.rdma_connections == 0 ? "TCP"
                                              : std::to_string(peer_.rdma_connections) + " on RDMA",
                options_.chunk_bytes);
}

// ---- Operations -----------------------------------------------------------

void StripedChannelCore::send(uint64_t stream, std::span<const uint8_t> data, SendCallback done) {
  Effects effects;
  ConnectionList wake;
  Status refused;
  {
    std::lock_guard lock(mu_);
    if (failing_ || closing_) {
      refused =
          failing_ ? failure_ : abortedError("channel to " + peer_.describe() + " is closing");
    } else {
      send_.enqueue(stream, data, std::move(done), effects);
      queueFramesLocked(effects);
      const size_t chunks = chunkCount(data.size(), options_.chunk_bytes);
      wake = takeIdleLocked(send_.hasSendable() || !control_queue_.empty() ? chunks : 0);
    }
  }
  if (!refused.isOk()) {
    if (done) done(std::move(refused));
    return;
  }
  finish(effects, wake, {});
}

void StripedChannelCore::recv(uint64_t stream, std::span<uint8_t> buffer, RecvCallback done) {
  Effects effects;
  ConnectionList wake;
  Status refused;
  {
    std::lock_guard lock(mu_);
    if (failing_ || closing_) {
      refused =
          failing_ ? failure_ : abortedError("channel to " + peer_.describe() + " is closing");
    } else {
      refused = recv_.post(stream, buffer, std::move(done), effects);
      if (refused.isOk()) {
        queueFramesLocked(effects);
        wake = takeIdleLocked(1);
      }
    }
  }
  if (!refused.isOk()) {
    // post() consumed nothing on failure: `done` is still ours to call.
    if (done) done(std::move(refused));
    return;
  }
  finish(effects, wake, {});
}

void StripedChannelCore::close(std::string reason, Code code) {
  ConnectionList wake;
  std::shared_ptr<Timers> timers;
  {
    std::lock_guard lock(mu_);
    if (failing_ || closing_) return;
    closing_ = true;
    close_reason_ = reason;
    close_code_ = code == Code::kInvalidUsage ? code : Code::kOk;
    timers = timers_;
    // Every connection ends with a Goodbye: whichever the peer reads first, it
    // learns the reason before it sees a connection close.
    wake = takeIdleLocked(idle_.size(), /*every=*/true);
  }
  // If the Goodbyes do not get out in time (peer not reading), close anyway.
  asio::post(timers->strand, [weak = weak_from_this(), timers] {
    timers->close.expires_after(kCloseGrace);
    timers->close.async_wait([weak](std::error_code ec) {
      if (ec) return;
      if (auto core = weak.lock()) core->fail(abortedError("Goodbye not sent in time"));
    });
  });
  Effects none;
  finish(none, wake, {});
}

void StripedChannelCore::fail(Status reason, bool peer_said_goodbye) {
  ConnectionList connections;
  std::shared_ptr<Timers> timers;
  {
    std::lock_guard lock(mu_);
    if (failing_) return;
    failing_ = true;
    // Whatever breaks while closing (the peer hanging up first, say) is the close.
    if (closing_) reason = abortedError("channel closed locally: " + close_reason_);
    failure_ = reason;
    connections = connections_;
    timers = timers_;
  }
  if (reason.code() == Code::kAborted || peer_said_goodbye) {
    ECCL_LOG_INFO("channel to {} closed: {}", peer_.describe(), reason.toString());
  } else {
    ECCL_LOG_WARN("channel to {} failed: {}", peer_.describe(), reason.toString());
  }
  asio::post(timers->strand, [timers] {
    timers->liveness.cancel();
    timers->close.cancel();
    timers->hedge.cancel();
  });
  // A peer that broke the protocol gets a reset; others an orderly close.
  for (auto& connection : connections) {
    if (reason.code() == Code::kProtocolError) {
      connection->abort();
    } else {
      connection->stop();
    }
  }
}

bool StripedChannelCore::quiesced() const {
  std::lock_guard lock(mu_);
  return released_;
}

Status StripedChannelCore::status() const {
  std::lock_guard lock(mu_);
  if (failing_) return failure_;
  if (closing_) return abortedError("channel is closing");
  return Status::ok();
}

void StripedChannelCore::setFailureHandler(std::function<void(Status)> on_failure) {
  Status already;
  {
    std::lock_guard lock(mu_);
    if (!stopped_) {
      on_failure_ = std::move(on_failure);
      return;
    }
    already = failure_;
  }
  if (on_failure) on_failure(std::move(already));
}

ChannelStats StripedChannelCore::stats() const {
  ChannelStats out;
  {
    std::lock_guard lock(mu_);
    const SendStats& s = send_.stats();
    const RecvStats& r = recv_.stats();
    out.messages_sent = s.messages_completed;
    out.messages_received = r.messages_completed;
    out.payload_bytes_sent = s.payload_bytes_written;
    out.payload_bytes_received = r.payload_bytes_placed;
    out.eager_chunks_sent = s.eager_chunks;
    out.hedged_chunks_sent = s.hedged_chunks;
    out.duplicate_chunks_dropped = r.duplicates_dropped;
    out.pool_bytes_peak = r.pool_bytes_peak;
    const auto now = FrameConnection::Clock::now();
    uint64_t busy_ns = 0;
    bool pending = false;
    FrameConnection::Clock::time_point last_progress{};
    for (const auto& connection : connections_) {
      out.connections.push_back(
          {connection->bytesSent(), connection->bytesReceived(), connection->chunksSent()});
      busy_ns = std::max(busy_ns, static_cast<uint64_t>(connection->sendBusy().count()));
      pending = pending || connection->unwrittenBytes() > 0;
      // A frame just taken has not had its first write yet: it counts from then.
      last_progress = std::max({last_progress, connection->lastSend(), connection->frameStarted()});
    }
    out.send_busy_ns = busy_ns;
    if (pending && now > last_progress) {
      out.send_stalled_ns = static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(now - last_progress).count());
    }
  }
  return out;
}

void StripedChannelCore::setPacingRate(uint64_t bytes_per_s) {
  ConnectionList connections;
  {
    std::lock_guard lock(mu_);
    if (failing_) return;  // the connections are stopping or gone
    connections = connections_;
  }
  if (connections.empty()) return;
  // Rounded up, so that a small cap still gives each connection at least 1 B/s.
  // Only the working connections carry data; the others' pings pass under any cap.
  const uint64_t count = static_cast<uint64_t>(working_connections_);
  const uint64_t each = bytes_per_s / count + (bytes_per_s % count != 0 ? 1 : 0);
  for (const auto& connection : connections)
    connection->setPacingRate(each);
  ECCL_LOG_DEBUG("channel to {}: pacing {} B/s ({} B/s on each of {} connections)",
                 peer_.describe(), bytes_per_s, each, count);
}

// ---- Helpers ---------------------------------------------------------------

void StripedChannelCore::queueFramesLocked(Effects& effects) {
  for (const auto& credit : effects.credits)
    protocol::appendFrame(credit, control_queue_, options_.checksum);
  for (const auto& error : effects.stream_errors)
    protocol::appendFrame(error, control_queue_, options_.checksum);
  for (size_t i = 0; i < effects.delivered.size(); i += protocol::Delivered::kMaxMessages) {
    protocol::Delivered delivered;
    const size_t end = std::min(effects.delivered.size(), i + protocol::Delivered::kMaxMessages);
    delivered.messages.assign(effects.delivered.begin() + i, effects.delivered.begin() + end);
    protocol::appendFrame(delivered, control_queue_, options_.checksum);
  }
  pending_pool_credit_ += effects.pool_credit;
  effects.credits.clear();
  effects.stream_errors.clear();
  effects.delivered.clear();
  effects.pool_credit = 0;
}

std::unique_ptr<OutgoingFrame> StripedChannelCore::takeControlFramesLocked(bool with_pool_credit) {
  if (with_pool_credit && pending_pool_credit_ > 0) {
    protocol::appendFrame(protocol::PoolCredit{pending_pool_credit_}, control_queue_,
                          options_.checksum);
    pending_pool_credit_ = 0;
  }
  if (control_queue_.empty()) return nullptr;
  // The reader takes frames one after another, however they were written.
  // A batch's type need only not be kGoodbye, whose writes onFrameWritten counts.
  return OutgoingFrame::makeControl(MessageType::kCredit, std::exchange(control_queue_, {}));
}

StripedChannelCore::ConnectionList StripedChannelCore::takeIdleLocked(size_t at_most, bool every) {
  ConnectionList out;
  if (connections_.empty()) return out;
  const size_t candidates = every ? idle_.size() : static_cast<size_t>(working_connections_);
  for (size_t i = 0; i < candidates && out.size() < at_most; ++i) {
    if (!idle_[i]) continue;
    idle_[i] = false;
    out.push_back(connections_[i]);
  }
  return out;
}

size_t StripedChannelCore::writersWantedLocked() const {
  // Most credits are for messages already sent eagerly: waking every parked
  // connection for them costs a thread hand-off each and finds nothing to write.
  if (send_.hasSendable() || send_.mayHedge()) return static_cast<size_t>(working_connections_);
  return control_queue_.empty() && pending_pool_credit_ == 0 ? 0 : 1;
}

StripedChannelCore::Detaches StripedChannelCore::resolveLocked(const DetachList& detach) const {
  Detaches out;
  if (connections_.empty()) return out;
  for (const auto& [index, chunk] : detach)
    out.emplace_back(connections_[index], chunk);
  return out;
}

void StripedChannelCore::finish(Effects& effects, const ConnectionList& wake,
                                const Detaches& detach) {
  for (const auto& [connection, chunk] : detach)
    connection->detach(chunk);
  for (const auto& connection : wake)
    connection->wakeWriter();
  effects.runCallbacks();
}

std::unique_ptr<OutgoingFrame> StripedChannelCore::makeChunkFrame(
    const ChunkAssignment& assignment) const {
  auto frame = std::make_unique<OutgoingFrame>();
  frame->kind = OutgoingFrame::Kind::kChunk;
  frame->type = MessageType::kChunk;
  frame->payload = assignment.data;
  frame->payload_size = assignment.length;
  frame->chunk = assignment.ref();
  frame->uses_caller_memory = true;
  auto chunk_header = std::span<uint8_t, protocol::ChunkHeader::kEncodedSize>(
      frame->chunk_head.data() + protocol::kFrameHeaderSize, protocol::ChunkHeader::kEncodedSize);
  assignment.header.encodeTo(chunk_header);
  FrameHeader header;
  header.type = MessageType::kChunk;
  header.length = static_cast<uint32_t>(protocol::ChunkHeader::kEncodedSize + assignment.length);
  if (assignment.eager) header.flags |= protocol::kFlagEager;
  if (assignment.hedge) header.flags |= protocol::kFlagHedge;
  if (options_.checksum) {
    header.flags |= protocol::kFlagChecksum;
    protocol::StreamingChecksum sum;
    sum.update(chunk_header);
    sum.update({assignment.data, assignment.length});
    header.checksum = sum.digest();
  }
  protocol::encodeFrameHeader(header, std::span<uint8_t, protocol::kFrameHeaderSize>(
                                          frame->chunk_head.data(), protocol::kFrameHeaderSize));
  return frame;
}

// ---- ConnectionDelegate: writer ---------------------------------------------

std::unique_ptr<OutgoingFrame> StripedChannelCore::takePingLocked(int index) {
  ping_due_[index] = false;
  return OutgoingFrame::makeControl(
      MessageType::kPing, protocol::encodeFrame(protocol::Ping{++ping_nonce_}, options_.checksum));
}

std::unique_ptr<OutgoingFrame> StripedChannelCore::nextFrame(FrameConnection& connection) {
  const int index = connection.index();
  std::optional<ChunkAssignment> assignment;
  {
    std::lock_guard lock(mu_);
    if (failing_) return nullptr;
    if (first_frames_[index]) return std::move(first_frames_[index]);
    // Control frames queued before the close (deliveries, credits) go out
    // before the Goodbyes: the peer's last sends complete instead of failing.
    if (closing_ && !control_queue_.empty() && !goodbye_sent_[index]) {
      return takeControlFramesLocked(/*with_pool_credit=*/false);
    }
    if (closing_) {
      if (goodbye_sent_[index]) {  // nothing may follow a Goodbye
        idle_[index] = true;
        return nullptr;
      }
      goodbye_sent_[index] = true;
      protocol::Goodbye goodbye;
      goodbye.code = close_code_;
      goodbye.text = close_reason_;
      return OutgoingFrame::makeControl(MessageType::kGoodbye,
                                        protocol::encodeFrame(goodbye, options_.checksum));
    }
    if (index >= working_connections_) {  // a spare ring: its pings only
      if (ping_due_[index]) return takePingLocked(index);
      idle_[index] = true;
      return nullptr;
    }
    if (auto control = takeControlFramesLocked(/*with_pool_credit=*/true)) return control;
    if (ping_due_[index]) return takePingLocked(index);
    const auto now = FrameConnection::Clock::now();
    const auto late_after = lateAfterLocked();
    assignment = send_.next(index, [&](int other) -> uint64_t {
      const auto& peer_connection = connections_[other];
      if (now - peer_connection->frameStarted() < late_after) return 0;
      return peer_connection->unwrittenBytes();
    });
    if (!assignment) {
      idle_[index] = true;
      armHedgeCheckLocked(now);
      return nullptr;
    }
  }
  // Headers and checksum are made outside the lock; the chunk's caller memory
  // stays pinned by the send queue until this frame reports back.
  return makeChunkFrame(*assignment);
}

void StripedChannelCore::onFrameWritten(FrameConnection& connection, OutgoingFrame& frame) {
  if (frame.kind == OutgoingFrame::Kind::kControl) {
    if (frame.type != MessageType::kGoodbye) return;
    bool all_said = false;
    {
      std::lock_guard lock(mu_);
      all_said = ++goodbyes_written_ == static_cast<size_t>(connection_count_);
    }
    if (all_said) fail(abortedError("channel closed locally"));
    return;
  }
  Effects effects;
  DetachList detach;
  Detaches detaches;
  const auto took = FrameConnection::Clock::now() - connection.frameStarted();
  {
    std::lock_guard lock(mu_);
    if (failing_) return;
    chunk_write_average_ =
        chunk_write_average_.count() == 0 ? took : (7 * chunk_write_average_ + took) / 8;
    send_.onWritten(connection.index(), frame.chunk, frame.uses_caller_memory, effects, detach);
    queueFramesLocked(effects);
    detaches = resolveLocked(detach);
  }
  finish(effects, {}, detaches);
}

void StripedChannelCore::onDetached(FrameConnection& /*connection*/, const ChunkRef& chunk) {
  Effects effects;
  {
    std::lock_guard lock(mu_);
    if (failing_) return;
    send_.onDetached(chunk, effects);
    queueFramesLocked(effects);
  }
  finish(effects, {}, {});
}

// ---- ConnectionDelegate: reader ---------------------------------------------

Result<ChunkTarget> StripedChannelCore::onChunkHeader(FrameConnection& connection,
                                                      const FrameHeader& header,
                                                      const protocol::ChunkHeader& chunk) {
  Effects effects;
  ConnectionList wake;
  Result<ChunkTarget> target = ChunkTarget{};
  {
    std::lock_guard lock(mu_);
    if (failing_) return ChunkTarget{};
    target = recv_.beginChunk(header, chunk, effects, connection.index());
    queueFramesLocked(effects);
    if (!control_queue_.empty() || pending_pool_credit_ > 0) wake = takeIdleLocked(1);
  }
  finish(effects, wake, {});
  return target;
}

Status StripedChannelCore::onChunkPayload(FrameConnection& /*connection*/,
                                          const ChunkTarget& target, Status payload_status) {
  if (!payload_status.isOk()) return payload_status;
  Effects effects;
  ConnectionList wake;
  ReadDrops drops;
  Status handled;
  {
    std::lock_guard lock(mu_);
    if (failing_) return Status::ok();
    handled = recv_.endChunk(target, effects);
    queueFramesLocked(effects);
    drops = takeReadDropsLocked(effects);
    if (!control_queue_.empty() || pending_pool_credit_ > 0) wake = takeIdleLocked(1);
  }
  // A spare copy is in: the connection still reading the first one stops.
  for (const auto& [connection, token] : drops)
    connection->dropRead(token);
  finish(effects, wake, {});
  return handled;
}

void StripedChannelCore::onReadDropped(FrameConnection& /*connection*/, uint64_t token) {
  Effects effects;
  ConnectionList wake;
  {
    std::lock_guard lock(mu_);
    if (failing_) return;
    recv_.onReadDropped(token, effects);
    queueFramesLocked(effects);
    if (!control_queue_.empty() || pending_pool_credit_ > 0) wake = takeIdleLocked(1);
  }
  finish(effects, wake, {});
}

StripedChannelCore::ReadDrops StripedChannelCore::takeReadDropsLocked(Effects& effects) const {
  ReadDrops out;
  for (const auto& [index, token] : effects.reads_to_drop) {
    if (index >= 0 && static_cast<size_t>(index) < connections_.size())
      out.emplace_back(connections_[index], token);
  }
  effects.reads_to_drop.clear();
  return out;
}

Status StripedChannelCore::onControlFrame(FrameConnection& connection, const FrameHeader& header,
                                          std::span<const uint8_t> payload) {
  Effects effects;
  DetachList detach;
  ConnectionList wake;
  Status result;
  switch (header.type) {
    case MessageType::kCredit: {
      auto credit = protocol::decodeMessage<protocol::Credit>(payload);
      if (!credit) return credit.status();
      std::lock_guard lock(mu_);
      if (failing_) return Status::ok();
      result = send_.onCredit(*credit, effects, detach);
      queueFramesLocked(effects);
      wake = takeIdleLocked(writersWantedLocked());
      break;
    }
    case MessageType::kPoolCredit: {
      auto credit = protocol::decodeMessage<protocol::PoolCredit>(payload);
      if (!credit) return credit.status();
      std::lock_guard lock(mu_);
      if (failing_) return Status::ok();
      result = send_.onPoolCredit(credit->bytes);
      wake = takeIdleLocked(writersWantedLocked());
      break;
    }
    case MessageType::kStreamError: {
      auto error = protocol::decodeMessage<protocol::StreamError>(payload);
      if (!error) return error.status();
      std::lock_guard lock(mu_);
      if (failing_) return Status::ok();
      if (error->origin == protocol::StreamErrorOrigin::kReceiver) {
        send_.onStreamError(*error, effects, detach);
      } else {
        result = recv_.onStreamError(*error, effects);
      }
      queueFramesLocked(effects);
      wake = takeIdleLocked(1);
      break;
    }
    case MessageType::kDelivered: {
      auto delivered = protocol::decodeMessage<protocol::Delivered>(payload);
      if (!delivered) return delivered.status();
      std::lock_guard lock(mu_);
      if (failing_) return Status::ok();
      for (uint64_t number : delivered->messages) {
        result = send_.onDelivered(number, effects);
        if (!result.isOk()) break;
      }
      queueFramesLocked(effects);
      break;
    }
    case MessageType::kPing: {
      auto ping = protocol::decodeMessage<protocol::Ping>(payload);
      return ping ? Status::ok() : ping.status();
    }
    case MessageType::kGoodbye: {
      auto goodbye = protocol::decodeMessage<protocol::Goodbye>(payload);
      if (!goodbye) return goodbye.status();
      // The Goodbye is the last frame of each connection: the channel ends
      // once every connection has said it, so that frames still in flight on
      // the others (a Delivered, say) are read first.
      // A disagreement's text leads, so that passed on round a ring (and cut
      // to a Goodbye's length) it still starts with what the peers disagree on.
      const std::string said = protocol::printable(goodbye->text);
      const Status closed =
          goodbye->code == Code::kInvalidUsage
              ? invalidUsage(said + " (" + peer_.describe() + " closed the channel over it)")
              : connectionError(peer_.describe() + " closed the channel: " + said);
      bool all_said = false;
      {
        std::lock_guard lock(mu_);
        if (!goodbye_received_[connection.index()]) {
          goodbye_received_[connection.index()] = true;
          all_said = ++goodbyes_received_ == static_cast<size_t>(connection_count_);
        }
        if (!peer_goodbye_) peer_goodbye_ = closed;
      }
      if (all_said) fail(closed, /*peer_said_goodbye=*/true);
      return Status::ok();
    }
    default:
      return protocolError("unexpected " + std::string(protocol::messageTypeName(header.type)) +
                           " frame on connection " + std::to_string(connection.index()) +
                           " of an established channel");
  }
  Detaches detaches;
  if (!detach.empty()) {
    std::lock_guard lock(mu_);
    detaches = resolveLocked(detach);
  }
  finish(effects, wake, detaches);
  return result;
}

// ---- ConnectionDelegate: life cycle -------------------------------------------

void StripedChannelCore::onConnectionError(FrameConnection& connection, Status error) {
  std::optional<Status> goodbye;
  {
    // A connection that said Goodbye may end at once: the others still deliver.
    std::lock_guard lock(mu_);
    if (goodbye_received_[connection.index()] && goodbyes_received_ < goodbye_received_.size()) {
      return;
    }
    goodbye = peer_goodbye_;
  }
  // After a Goodbye, another connection ending (the peer's close may reset a
  // connection before its Goodbye is read) is that close, not a failure.
  if (goodbye) {
    fail(*goodbye, /*peer_said_goodbye=*/true);
    return;
  }
  fail(error.withContext(peer_.describe()));
}

void StripedChannelCore::onConnectionStopped(FrameConnection& /*connection*/) {
  Effects effects;
  std::function<void(Status)> on_failure;
  Status failure;
  ConnectionList stopped_connections;  // destroyed here, on an I/O thread
  std::shared_ptr<Timers> timers;
  bool unexpected = false;
  {
    std::lock_guard lock(mu_);
    unexpected = !failing_;
  }
  // A connection that closed while the handshake handed it over: the channel is broken.
  if (unexpected)
    fail(connectionError("a connection to " + peer_.describe() +
                         " closed while the channel was being set up"));
  {
    std::lock_guard lock(mu_);
    if (++connections_stopped_ < static_cast<size_t>(connection_count_)) return;
    // No connection reads or writes caller memory any more: end everything.
    stopped_ = true;
    send_.failAll(failure_, effects);
    recv_.failAll(failure_, effects);
    control_queue_.clear();
    first_frames_.clear();
    on_failure = std::move(on_failure_);
    failure = failure_;
    stopped_connections = std::move(connections_);
    connections_.clear();
    timers = std::move(timers_);
  }
  effects.runCallbacks();
  if (on_failure) on_failure(failure);
  release(std::move(timers));
}

void StripedChannelCore::release(std::shared_ptr<Timers> timers) {
  // The timers go on their strand, on an I/O thread, while the context still runs.
  asio::post(timers->strand, [self = shared_from_this(), timers]() mutable {
    timers->liveness.cancel();
    timers->close.cancel();
    timers->hedge.cancel();
    timers.reset();
    std::lock_guard lock(self->mu_);
    self->released_ = true;
  });
}

// ---- Liveness --------------------------------------------------------------------

void StripedChannelCore::armLivenessTimer() {
  std::shared_ptr<Timers> timers;
  {
    std::lock_guard lock(mu_);
    if (failing_ || !timers_) return;
    timers = timers_;
  }
  timers->liveness.expires_after(pingInterval(options_));
  timers->liveness.async_wait([weak = weak_from_this()](std::error_code ec) {
    if (ec) return;
    if (auto self = weak.lock()) self->checkLiveness();
  });
}

void StripedChannelCore::checkLiveness() {
  const auto now = FrameConnection::Clock::now();
  const auto interval = pingInterval(options_);
  ConnectionList wake;
  Status timeout;
  {
    std::lock_guard lock(mu_);
    if (failing_) return;
    for (size_t i = 0; i < connections_.size(); ++i) {
      const auto& connection = connections_[i];
      const auto silent = now - connection->lastReceive();
      if (silent > options_.idle_timeout) {
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(silent).count();
        timeout = timeoutError("no bytes from " + peer_.describe() + " on connection " +
                               std::to_string(i) + " for " + std::to_string(ms) +
                               " ms: the peer is hung or the path is down");
        break;
      }
      if (now - connection->lastSend() >= interval && idle_[i]) {
        ping_due_[i] = true;
        idle_[i] = false;
        wake.push_back(connection);
      }
    }
  }
  if (!timeout.isOk()) {
    fail(std::move(timeout));
    return;
  }
  for (const auto& connection : wake)
    connection->wakeWriter();
  armLivenessTimer();
}

// ---- Hedging ---------------------------------------------------------------------

std::chrono::nanoseconds StripedChannelCore::lateAfterLocked() const {
  // Four times the usual write: only then is a second copy worth its bytes
  // (on an even path it rarely is).
  return std::max<std::chrono::nanoseconds>(4 * chunk_write_average_, std::chrono::milliseconds(5));
}

void StripedChannelCore::armHedgeCheckLocked(FrameConnection::Clock::time_point now) {
  if (!timers_ || !send_.mayHedge()) return;
  const auto late_after = lateAfterLocked();
  std::optional<FrameConnection::Clock::time_point> due;
  for (const int holder : send_.hedgeHolders()) {
    const auto& connection = connections_[holder];
    const uint64_t unwritten = connection->unwrittenBytes();
    // Unwritten bytes only shrink: a frame below the floor never turns hedgeable.
    // None at all: the holder took its frame a moment ago and has not yet said so.
    if (unwritten != 0 && unwritten < options_.hedge_min_bytes) continue;
    const auto started = unwritten == 0 ? now : connection->frameStarted();
    // Not sooner than a millisecond: a check that finds nothing must not spin.
    const auto at = std::max(started + late_after, now + std::chrono::milliseconds(1));
    if (!due || at < *due) due = at;
  }
  if (!due || (hedge_check_at_ && *hedge_check_at_ <= *due)) return;
  hedge_check_at_ = due;
  asio::post(timers_->strand, [weak = weak_from_this(), timers = timers_, at = *due] {
    timers->hedge.expires_at(at);  // cancels a later wait, if one is pending
    timers->hedge.async_wait([weak](std::error_code ec) {
      if (ec) return;
      if (auto self = weak.lock()) self->checkHedges();
    });
  });
}

void StripedChannelCore::checkHedges() {
  ConnectionList wake;
  {
    std::lock_guard lock(mu_);
    hedge_check_at_.reset();
    if (failing_ || closing_ || !send_.mayHedge()) return;
    // Each takes a late chunk if one is there, else parks and arms the next check.
    wake = takeIdleLocked(static_cast<size_t>(working_connections_));
  }
  for (const auto& connection : wake)
    connection->wakeWriter();
}

StripedChannel::~StripedChannel() {
  core_->close("channel handle destroyed");
}

}  // namespace eccl::transport::tcp
