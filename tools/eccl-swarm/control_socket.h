// A swarm peer's connection to the master, built for many peers on one thread:
// each read takes whatever the socket holds and cuts every whole frame out of
// it (one recv for many frames), and queued frames go out in one write.
// transport::tcp::FrameConnection reads a frame's header and payload with
// separate calls, which made the harness, not the master, the bottleneck.
#pragma once

#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <vector>

#include "src/common/status.h"
#include "src/protocol/frame.h"

namespace eccl::tools::swarm {

class ControlSocket : public std::enable_shared_from_this<ControlSocket> {
 public:
  // A whole, checked frame; an error closes the connection.
  using FrameHandler =
      std::function<Status(const protocol::FrameHeader& header, std::span<const uint8_t> payload)>;
  // Once, when the connection ends: ok after close(), else why it failed.
  using CloseHandler = std::function<void(const Status& why)>;

  // The socket is connected and its executor is the owner's strand; every
  // method below runs on that strand.
  explicit ControlSocket(asio::ip::tcp::socket socket);

  void start(FrameHandler on_frame, CloseHandler on_close);
  void send(std::vector<uint8_t> frame);
  void close();

 private:
  void readMore();
  void onRead(std::error_code ec, size_t n);
  void writeNext();
  void finish(const Status& why);

  asio::ip::tcp::socket socket_;
  FrameHandler on_frame_;
  CloseHandler on_close_;
  std::vector<uint8_t> in_;
  size_t have_ = 0;
  std::vector<uint8_t> pending_;  // frames queued while a write is in flight
  std::vector<uint8_t> in_flight_;
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace eccl::tools::swarm
