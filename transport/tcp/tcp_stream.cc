#include "transport/tcp/tcp_stream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <algorithm>
#include <array>
#include <asio/socket_base.hpp>
#include <cerrno>
#include <cstring>

#include "src/common/log.h"
#include "transport/tcp/socket_pacing.h"
#include "transport/tcp/tcp_kernel_info.h"

namespace eccl::transport::tcp {

std::string formatEndpoint(const asio::ip::tcp::endpoint& endpoint) {
  const auto address = endpoint.address();
  std::string host = address.to_string();
  if (address.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

TcpStream::TcpStream(asio::ip::tcp::socket socket) : socket_(std::move(socket)) {
  std::error_code ec;
  auto remote = socket_.remote_endpoint(ec);
  remote_ = ec ? std::string("<unknown>") : formatEndpoint(remote);
  socket_.non_blocking(true, ec);
}

TcpStream::~TcpStream() {
  close();
}

size_t TcpStream::readSome(std::span<uint8_t> into, std::error_code& ec) {
  if (into.empty()) {
    ec.clear();
    return 0;
  }
  size_t n = socket_.read_some(asio::buffer(into.data(), into.size()), ec);
  return n;
}

size_t TcpStream::writeSome(std::span<const uint8_t> first, std::span<const uint8_t> second,
                            std::error_code& ec) {
  std::array<asio::const_buffer, 2> pieces = {asio::buffer(first.data(), first.size()),
                                              asio::buffer(second.data(), second.size())};
  return socket_.write_some(pieces, ec);
}

void TcpStream::waitReadable(WaitHandler ready) {
  socket_.async_wait(asio::ip::tcp::socket::wait_read, std::move(ready));
}

void TcpStream::waitWritable(WaitHandler ready) {
  socket_.async_wait(asio::ip::tcp::socket::wait_write, std::move(ready));
}

void TcpStream::close() {
  if (!socket_.is_open()) return;
  std::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
  socket_.close(ignored);
}

void TcpStream::shutdownSend() {
  if (!socket_.is_open()) return;
  std::error_code ignored;
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ignored);
}

void TcpStream::abort() {
  if (!socket_.is_open()) return;
  std::error_code ignored;
  socket_.set_option(asio::socket_base::linger(true, 0), ignored);
  socket_.close(ignored);
}

void TcpStream::setPacingRate(uint64_t bytes_per_s) {
  if (!socket_.is_open()) return;
  setMaxPacingRate(socket_.native_handle(), bytes_per_s, remote_);
}

namespace {

bool setIntOption(int fd, int level, int name, int value, const char* label,
                  const std::string& peer) {
  if (::setsockopt(fd, level, name, &value, sizeof(value)) == 0) return true;
  ECCL_LOG_WARN("cannot set {}={} on connection to {}: {}", label, value, peer,
                std::strerror(errno));
  return false;
}

int getIntOption(int fd, int level, int name) {
  int value = 0;
  socklen_t length = sizeof(value);
  if (::getsockopt(fd, level, name, &value, &length) != 0) return -1;
  return value;
}

}  // namespace

void TcpStream::setReadLowWater(size_t bytes) {
  if (!socket_.is_open()) return;
  const int fd = socket_.native_handle();
  // Autotuning grows the buffer: read it again only when the cap it gave binds.
  if (bytes > read_low_water_cap_) {
    if (const int buffer = getIntOption(fd, SOL_SOCKET, SO_RCVBUF); buffer > 0)
      read_low_water_cap_ = std::max<size_t>(static_cast<size_t>(buffer) / 4, 1);
  }
  const int wanted = static_cast<int>(std::clamp<size_t>(bytes, 1, read_low_water_cap_));
  if (wanted == read_low_water_) return;
  // Failure is harmless: the reader only wakes more often.
  if (::setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &wanted, sizeof(wanted)) == 0)
    read_low_water_ = wanted;
}

std::chrono::nanoseconds TcpStream::sendBusyTime() {
  if (!socket_.is_open()) return busy_;
  if (auto busy = kernelBusyTime(socket_.native_handle()))
    busy_ = std::max<std::chrono::nanoseconds>(busy_, *busy);
  return busy_;
}

void applySocketOptions(asio::ip::tcp::socket& socket, const ChannelOptions& options,
                        const std::string& peer) {
  const int fd = socket.native_handle();
  setIntOption(fd, IPPROTO_TCP, TCP_NODELAY, 1, "TCP_NODELAY", peer);
  setIntOption(fd, SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE", peer);
  setIntOption(fd, IPPROTO_TCP, TCP_KEEPIDLE,
               static_cast<int>(options.keepalive_idle.count() / 1000), "TCP_KEEPIDLE", peer);
  setIntOption(fd, IPPROTO_TCP, TCP_KEEPINTVL,
               static_cast<int>(options.keepalive_interval.count() / 1000), "TCP_KEEPINTVL", peer);
  setIntOption(fd, IPPROTO_TCP, TCP_KEEPCNT, options.keepalive_probes, "TCP_KEEPCNT", peer);
  setIntOption(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, static_cast<int>(options.user_timeout.count()),
               "TCP_USER_TIMEOUT", peer);
  setIntOption(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, static_cast<int>(options.notsent_lowat),
               "TCP_NOTSENT_LOWAT", peer);
  if (options.send_buffer > 0) {
    setIntOption(fd, SOL_SOCKET, SO_SNDBUF, options.send_buffer, "SO_SNDBUF", peer);
  }
  if (options.recv_buffer > 0) {
    setIntOption(fd, SOL_SOCKET, SO_RCVBUF, options.recv_buffer, "SO_RCVBUF", peer);
  }
  // The kernel doubles and caps requests (wmem_max/rmem_max): log what was granted.
  ECCL_LOG_DEBUG(
      "connection to {}: SO_SNDBUF={} SO_RCVBUF={} (requested {} / {}, 0 = autotune), "
      "TCP_NOTSENT_LOWAT={}",
      peer, getIntOption(fd, SOL_SOCKET, SO_SNDBUF), getIntOption(fd, SOL_SOCKET, SO_RCVBUF),
      options.send_buffer, options.recv_buffer, getIntOption(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT));
}

}  // namespace eccl::transport::tcp
