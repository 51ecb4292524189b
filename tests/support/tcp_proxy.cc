#include "tests/support/tcp_proxy.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <stdexcept>

namespace eccl::test {

struct TcpProxy::Link {
  int index = 0;
  int fd[2] = {-1, -1};  // [0] the connector's side, [1] the listener's side
  std::atomic<uint64_t> forwarded[2] = {0, 0};
  std::atomic<bool> dead{false};

  void resetBoth() {
    if (dead.exchange(true)) return;
    for (int f : fd) {
      linger l{1, 0};
      ::setsockopt(f, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
      ::shutdown(f, SHUT_RDWR);
    }
  }
};

namespace {

int listenLoopback(uint16_t& port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::listen(fd, 128) != 0) {
    throw std::runtime_error(std::string("proxy listen: ") + std::strerror(errno));
  }
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  port = ntohs(addr.sin_port);
  return fd;
}

int connectLoopback(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  return fd;
}

}  // namespace

TcpProxy::TcpProxy(uint16_t target_port) : target_port_(target_port) {
  listen_fd_ = listenLoopback(port_);
  acceptor_ = std::thread([this] { acceptLoop(); });
}

TcpProxy::~TcpProxy() {
  stopping_ = true;
  ::shutdown(listen_fd_, SHUT_RDWR);
  acceptor_.join();
  {
    std::lock_guard lock(mu_);
    for (auto& link : links_) {
      link->dead = true;
      for (int f : link->fd)
        ::shutdown(f, SHUT_RDWR);
    }
  }
  for (auto& t : threads_)
    t.join();
  for (auto& link : links_) {
    for (int f : link->fd)
      ::close(f);
  }
  ::close(listen_fd_);
}

int TcpProxy::connections() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(links_.size());
}

TcpProxy::Rule TcpProxy::ruleFor(int connection) {
  std::lock_guard lock(mu_);
  if (connection < static_cast<int>(rules_.size())) return rules_[connection];
  return {};
}

void TcpProxy::throttle(int connection, Direction direction, uint64_t bytes_per_second) {
  std::lock_guard lock(mu_);
  if (static_cast<int>(rules_.size()) <= connection) rules_.resize(connection + 1);
  rules_[connection].rate[direction == Direction::kUpstream ? 0 : 1] = bytes_per_second;
}

void TcpProxy::blackhole() {
  blackholed_ = true;
}

void TcpProxy::resetAfter(int connection, uint64_t upstream_bytes) {
  std::lock_guard lock(mu_);
  if (static_cast<int>(rules_.size()) <= connection) rules_.resize(connection + 1);
  rules_[connection].reset_after = upstream_bytes;
}

void TcpProxy::corruptAt(int connection, uint64_t upstream_offset, uint8_t xor_mask) {
  std::lock_guard lock(mu_);
  if (static_cast<int>(rules_.size()) <= connection) rules_.resize(connection + 1);
  rules_[connection].corrupt_offset = upstream_offset;
  rules_[connection].corrupt_mask = xor_mask;
}

void TcpProxy::acceptLoop() {
  while (!stopping_) {
    int client = ::accept(listen_fd_, nullptr, nullptr);
    if (client < 0) {
      if (stopping_) return;
      continue;
    }
    int one = 1;
    ::setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int server = connectLoopback(target_port_);
    if (server < 0) {
      ::close(client);
      continue;
    }
    auto link = std::make_shared<Link>();
    link->fd[0] = client;
    link->fd[1] = server;
    std::lock_guard lock(mu_);
    link->index = static_cast<int>(links_.size());
    links_.push_back(link);
    threads_.emplace_back([this, link] { pump(link, Direction::kUpstream); });
    threads_.emplace_back([this, link] { pump(link, Direction::kDownstream); });
  }
}

void TcpProxy::pump(std::shared_ptr<Link> link, Direction direction) {
  const int d = direction == Direction::kUpstream ? 0 : 1;
  const int from = link->fd[d];
  const int to = link->fd[1 - d];
  std::vector<uint8_t> buffer(64 * 1024);
  const auto start = std::chrono::steady_clock::now();
  while (!link->dead && !stopping_) {
    if (blackholed_) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    const Rule rule = ruleFor(link->index);
    size_t want = buffer.size();
    if (rule.rate[d] > 0) {
      // Forward in small slices at the configured average rate.
      want = std::min<size_t>(want, std::max<uint64_t>(rule.rate[d] / 100, 1));
      const double due =
          static_cast<double>(link->forwarded[d]) / static_cast<double>(rule.rate[d]);
      const auto due_at = start + std::chrono::duration<double>(due);
      if (std::chrono::steady_clock::now() < due_at) std::this_thread::sleep_until(due_at);
    }
    if (d == 0 && rule.reset_after != UINT64_MAX) {
      const uint64_t left =
          rule.reset_after - std::min(rule.reset_after, link->forwarded[0].load());
      if (left == 0) {
        link->resetBoth();
        return;
      }
      want = std::min<size_t>(want, left);
    }
    pollfd p{from, POLLIN, 0};
    if (::poll(&p, 1, 20) <= 0) continue;
    ssize_t n = ::recv(from, buffer.data(), want, 0);
    if (n <= 0) {
      ::shutdown(to, SHUT_WR);  // pass the close on
      return;
    }
    if (d == 0 && rule.corrupt_offset != UINT64_MAX) {
      const uint64_t at = link->forwarded[0];
      if (rule.corrupt_offset >= at && rule.corrupt_offset < at + static_cast<uint64_t>(n)) {
        buffer[rule.corrupt_offset - at] ^= rule.corrupt_mask;
      }
    }
    size_t sent = 0;
    while (sent < static_cast<size_t>(n)) {
      ssize_t m = ::send(to, buffer.data() + sent, n - sent, MSG_NOSIGNAL);
      if (m <= 0) {
        ::shutdown(from, SHUT_RD);
        return;
      }
      sent += static_cast<size_t>(m);
    }
    link->forwarded[d] += static_cast<uint64_t>(n);
  }
}

}  // namespace eccl::test
