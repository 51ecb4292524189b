// A plain blocking TCP client for feeding a listener bytes no ECCL peer would
// send, and reading what it answers.
#pragma once

#include <chrono>
#include <cstdint>
#include <span>

namespace eccl::test {

class RawSocket {
 public:
  // Connects to 127.0.0.1:port from `source_ip` (another 127.x.y.z address
  // looks like another host); valid() says whether it worked.
  explicit RawSocket(uint16_t port, const char* source_ip = "127.0.0.1");
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool valid() const { return fd_ >= 0; }
  bool send(std::span<const uint8_t> bytes);
  // Sends what every data connection starts with: a transport offer that
  // asks for no shared memory (transport/shm/shm_offer.h), so that the
  // listener reads frames next.
  bool sendTcpOffer();
  // Fills `into` completely; false at the deadline, end of stream or an error.
  bool readExactly(std::span<uint8_t> into, std::chrono::steady_clock::time_point end);
  // True if the peer closed or reset the connection within the timeout
  // (bytes it sends meanwhile are read and dropped).
  bool waitClosedByPeer(std::chrono::milliseconds timeout);

 private:
  int fd_ = -1;
};

}  // namespace eccl::test
