// ByteStream over a TCP socket, plus the socket options every ECCL connection uses.
#pragma once

#include <asio/ip/tcp.hpp>
#include <string>

#include "transport/byte_stream.h"
#include "transport/channel_options.h"

namespace eccl::transport::tcp {

class TcpStream final : public ByteStream {
 public:
  // The socket must be connected and own a strand executor.
  explicit TcpStream(asio::ip::tcp::socket socket);
  ~TcpStream() override;

  size_t readSome(std::span<uint8_t> into, std::error_code& ec) override;
  size_t writeSome(std::span<const uint8_t> first, std::span<const uint8_t> second,
                   std::error_code& ec) override;
  void waitReadable(WaitHandler ready) override;
  void waitWritable(WaitHandler ready) override;
  void close() override;
  void shutdownSend() override;
  void abort() override;
  // SO_MAX_PACING_RATE, which TCP enforces itself (no fq qdisc needed).
  void setPacingRate(uint64_t bytes_per_s) override;
  // SO_RCVLOWAT, capped at a quarter of the receive buffer: Linux grows the
  // buffer for a larger mark and clamps the receive window to the mark.
  void setReadLowWater(size_t bytes) override;
  // TCP_INFO's tcpi_busy_time (Linux 4.10+); what it last read once closed.
  std::chrono::nanoseconds sendBusyTime() override;
  asio::any_io_executor executor() override { return socket_.get_executor(); }
  const std::string& remoteAddress() const override { return remote_; }

 private:
  asio::ip::tcp::socket socket_;
  std::string remote_;
  std::chrono::nanoseconds busy_{0};
  int read_low_water_ = 1;         // the socket's SO_RCVLOWAT (Linux's default is 1)
  size_t read_low_water_cap_ = 1;  // a quarter of SO_RCVBUF when last read
};

// Sets TCP_NODELAY, keep-alive, TCP_USER_TIMEOUT, TCP_NOTSENT_LOWAT and the
// requested buffer sizes; logs what the kernel granted. Failure to set an
// option is logged, not fatal: the connection still works, only less well.
void applySocketOptions(asio::ip::tcp::socket& socket, const ChannelOptions& options,
                        const std::string& peer);

std::string formatEndpoint(const asio::ip::tcp::endpoint& endpoint);

}  // namespace eccl::transport::tcp
