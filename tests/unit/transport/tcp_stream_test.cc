// TcpStream over loopback: the read low-water mark (SO_RCVLOWAT) holds a
// readiness wait until that many bytes are there, and is capped.
#include "transport/tcp/tcp_stream.h"

#include <gtest/gtest.h>
#include <sys/socket.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <vector>

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using asio::ip::tcp;
using transport::tcp::TcpStream;

int lowWaterOf(int fd) {
  int value = 0;
  socklen_t length = sizeof(value);
  EXPECT_EQ(::getsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, &value, &length), 0);
  return value;
}

struct LoopbackPair {
  asio::io_context io;
  tcp::socket sender{io};
  tcp::socket receiver{io};

  LoopbackPair() {
    tcp::acceptor acceptor(io, tcp::endpoint(asio::ip::address_v4::loopback(), 0));
    sender.connect(acceptor.local_endpoint());
    receiver = acceptor.accept();
  }
};

TEST(TcpStream, ReadinessWaitsUntilTheLowWaterMarkHasArrived) {
  LoopbackPair pair;
  const int fd = pair.receiver.native_handle();
  TcpStream stream(std::move(pair.receiver));
  stream.setReadLowWater(1000);
  EXPECT_EQ(lowWaterOf(fd), 1000);

  bool ready = false;
  stream.waitReadable([&ready](std::error_code ec) {
    EXPECT_FALSE(ec);
    ready = true;
  });
  const std::vector<uint8_t> half(500, 1);
  asio::write(pair.sender, asio::buffer(half));
  pair.io.run_for(100ms);
  EXPECT_FALSE(ready) << "woke with 500 of the 1000 bytes it waits for";

  asio::write(pair.sender, asio::buffer(half));
  pair.io.restart();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!ready && std::chrono::steady_clock::now() < deadline)
    pair.io.run_one_for(100ms);
  ASSERT_TRUE(ready);

  std::vector<uint8_t> into(2000);
  std::error_code ec;
  EXPECT_EQ(stream.readSome(into, ec), 1000u);
  EXPECT_FALSE(ec);
}

TEST(TcpStream, LowWaterMarkIsCappedByTheReceiveBufferAndBackToOneAtOnce) {
  LoopbackPair pair;
  const int fd = pair.receiver.native_handle();
  TcpStream stream(std::move(pair.receiver));
  int buffer = 0;
  socklen_t length = sizeof(buffer);
  ASSERT_EQ(::getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &buffer, &length), 0);

  stream.setReadLowWater(64u << 20);
  const int capped = lowWaterOf(fd);
  EXPECT_GT(capped, 1);
  EXPECT_LE(capped, buffer / 4) << "a mark above a quarter of the buffer would clamp the window";

  stream.setReadLowWater(0);
  EXPECT_EQ(lowWaterOf(fd), 1);
  stream.setReadLowWater(1);
  EXPECT_EQ(lowWaterOf(fd), 1);
}

TEST(TcpStream, ThePeersCloseWakesAWaitBelowItsLowWaterMark) {
  LoopbackPair pair;
  TcpStream stream(std::move(pair.receiver));
  stream.setReadLowWater(1000);
  bool ready = false;
  stream.waitReadable([&ready](std::error_code) { ready = true; });
  const std::vector<uint8_t> some(10, 1);
  asio::write(pair.sender, asio::buffer(some));
  pair.sender.close();
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (!ready && std::chrono::steady_clock::now() < deadline)
    pair.io.run_one_for(100ms);
  ASSERT_TRUE(ready);
  std::vector<uint8_t> into(100);
  std::error_code ec;
  EXPECT_EQ(stream.readSome(into, ec), 10u);
  stream.readSome(into, ec);
  EXPECT_EQ(ec, asio::error::eof);
}

}  // namespace
}  // namespace eccl::test
