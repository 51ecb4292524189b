#include "tests/support/raw_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "transport/shm/shm_offer.h"

namespace eccl::test {

RawSocket::RawSocket(uint16_t port, const char* source_ip) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in source{};
  source.sin_family = AF_INET;
  if (fd_ >= 0 && (::inet_pton(AF_INET, source_ip, &source.sin_addr) != 1 ||
                   ::bind(fd_, reinterpret_cast<sockaddr*>(&source), sizeof(source)) != 0)) {
    ::close(fd_);
    fd_ = -1;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd_);
    fd_ = -1;
  }
}

RawSocket::~RawSocket() {
  if (fd_ >= 0) ::close(fd_);
}

bool RawSocket::send(std::span<const uint8_t> bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

bool RawSocket::readExactly(std::span<uint8_t> into, std::chrono::steady_clock::time_point end) {
  size_t have = 0;
  while (have < into.size()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::recv(fd_, into.data() + have, into.size() - have, 0);
    if (n <= 0) return false;
    have += static_cast<size_t>(n);
  }
  return true;
}

bool RawSocket::waitClosedByPeer(std::chrono::milliseconds timeout) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  uint8_t sink[4096];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    ssize_t n = ::recv(fd_, sink, sizeof(sink), 0);
    if (n <= 0) return true;  // orderly close (0) or reset (-1)
  }
}

bool RawSocket::sendTcpOffer() {
  const auto offer = transport::shm::encode(transport::shm::Offer{});
  return send(offer);
}

}  // namespace eccl::test
