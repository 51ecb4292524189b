// A TCP forwarder on 127.0.0.1 for fault tests: sits between a connector and a
// listener and, per connection (numbered in accept order), can slow, freeze,
// reset or corrupt the byte stream.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace eccl::test {

enum class Direction { kUpstream, kDownstream };  // connector->listener, listener->connector

class TcpProxy {
 public:
  explicit TcpProxy(uint16_t target_port);
  ~TcpProxy();
  TcpProxy(const TcpProxy&) = delete;
  TcpProxy& operator=(const TcpProxy&) = delete;

  uint16_t port() const { return port_; }
  int connections() const;

  // Rules apply to connections accepted later as well as to running ones.
  void throttle(int connection, Direction direction, uint64_t bytes_per_second);
  // Stops forwarding on every connection, both ways, keeping the sockets open:
  // to both ends the path looks black-holed.
  void blackhole();
  // Resets both sides of a connection once it has forwarded this many upstream bytes.
  void resetAfter(int connection, uint64_t upstream_bytes);
  // Flips bits of the upstream byte at this stream offset.
  void corruptAt(int connection, uint64_t upstream_offset, uint8_t xor_mask);

 private:
  struct Rule {
    uint64_t rate[2] = {0, 0};
    uint64_t reset_after = UINT64_MAX;
    uint64_t corrupt_offset = UINT64_MAX;
    uint8_t corrupt_mask = 0;
  };
  struct Link;

  void acceptLoop();
  void pump(std::shared_ptr<Link> link, Direction direction);
  Rule ruleFor(int connection);

  uint16_t target_port_;
  uint16_t port_ = 0;
  int listen_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> blackholed_{false};
  mutable std::mutex mu_;
  std::vector<Rule> rules_;
  std::vector<std::shared_ptr<Link>> links_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

}  // namespace eccl::test
