// One control-plane-only peer of the swarm: it registers, heartbeats at the
// interval the master gives, answers every Topology that names it with
// ChannelsReady at once (there is no data plane to bring up), votes and leaves
// when told. Many of them share one io_context; each runs on its own strand.
//
// It speaks the same frames as membership::ControlClient (the protocol
// library's encoders and decoders), without a thread and an io_context per peer.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>
#include <atomic>
#include <chrono>
#include <memory>
#include <string>

#include "src/common/endpoint_id.h"
#include "src/protocol/frame.h"
#include "tools/eccl-swarm/board.h"
#include "tools/eccl-swarm/control_socket.h"

namespace eccl::tools::swarm {

class SwarmPeer final : public std::enable_shared_from_this<SwarmPeer> {
 public:
  SwarmPeer(asio::io_context& io, asio::ip::tcp::endpoint master, std::string group, Board& board);

  // Each of these may be called from any thread; the work runs on the peer's strand.
  void start();  // connect and register (again after a refusal, with back-off)
  void vote();   // TopologyVote at the revision it last saw committed
  void leave();  // Leave; the master then closes the connection
  void close();  // drop the connection without a word

  const EndpointId& id() const { return id_; }
  // The committed revision it is a member of; 0 while pending.
  uint64_t revision() const { return revision_.load(std::memory_order_acquire); }

 private:
  void connect();
  void onConnected(std::error_code ec, asio::ip::tcp::socket socket);
  void retryLater(const std::string& why);
  Status dispatch(protocol::MessageType type, std::span<const uint8_t> payload);
  void onClosed(const Status& why);
  void send(std::vector<uint8_t> frame);
  void armHeartbeat(std::chrono::milliseconds delay);
  void fail(const std::string& why);
  void closeNow();
  void noteClosed();  // counts this peer's end once, however it came

  asio::strand<asio::io_context::executor_type> strand_;
  const asio::ip::tcp::endpoint master_;
  const std::string group_;
  const EndpointId id_;
  Board& board_;
  asio::steady_timer timer_;  // heartbeats, or the next connection attempt

  // Strand only.
  std::shared_ptr<ControlSocket> connection_;
  std::chrono::milliseconds heartbeat_{250};
  uint64_t heartbeat_seq_ = 0;
  Clock::time_point heartbeat_due_{};   // when the timer should fire
  Clock::time_point heartbeat_sent_{};  // when heartbeat_seq_ went out
  int attempts_ = 0;
  bool registered_ = false;
  bool leaving_ = false;
  bool closing_ = false;
  bool failed_ = false;
  bool counted_closed_ = false;

  std::atomic<uint64_t> revision_{0};
};

}  // namespace eccl::tools::swarm
