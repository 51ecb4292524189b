// A peer killed (SIGKILL) in the middle of a transfer over shared memory: the
// survivor's operations end with an error at once (the kernel closes the
// dead process's socket, which the rings keep open for exactly this), not at
// the idle timeout, and no segment of either process is left in /dev/shm.
// Whichever end dies: the listener (which creates the segments) or the
// connector.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/support/channel_pair.h"
#include "tests/support/dev_shm.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using transport::ChannelOptions;

constexpr size_t kMessageBytes = 8 << 20;

ChannelOptions killOptions() {
  ChannelOptions options;
  options.transport = transport::TransportChoice::kShm;
  options.connections = 2;
  options.chunk_bytes = 256 << 10;
  options.shm_ring_bytes = 256 << 10;
  options.idle_timeout = 60'000ms;  // only the socket can tell the survivor in time
  return options;
}

// The child's life: an endpoint that sends kMessageBytes messages on streams
// 1, 2, 3, ... until it is killed.
[[noreturn]] void runSender(int port_pipe_read, int port_pipe_write, bool child_listens) {
  auto transport = transport::tcp::TcpTransport::create(killOptions());
  if (!transport) ::_exit(2);
  AcceptQueue accepted;
  std::unique_ptr<transport::Listener> listener;
  std::unique_ptr<transport::Channel> channel;
  if (child_listens) {
    auto bound = (*transport)->listen("127.0.0.1", 0, accepted.callback());
    if (!bound) ::_exit(3);
    listener = std::move(*bound);
    const uint16_t port = listener->port();
    if (::write(port_pipe_write, &port, sizeof(port)) != sizeof(port)) ::_exit(4);
    channel = accepted.pop(60s);
  } else {
    uint16_t port = 0;
    if (::read(port_pipe_read, &port, sizeof(port)) != sizeof(port)) ::_exit(5);
    auto connected = (*transport)->connectAndWait("127.0.0.1", port);
    if (connected) channel = std::move(*connected);
  }
  if (!channel) ::_exit(6);
  const std::vector<uint8_t> data(kMessageBytes, 0x5a);
  for (uint64_t stream = 1;; ++stream) {
    Completion sent;
    channel->send(stream, data, sent.callback());
    auto status = sent.wait(120s);
    if (!status || !status->isOk()) ::_exit(7);
  }
}

class ShmKill : public ::testing::TestWithParam<bool> {};

TEST_P(ShmKill, TheSurvivorFailsAtOnceAndDevShmStaysClean) {
  const bool child_listens = GetParam();
  int to_child[2];
  int to_parent[2];
  ASSERT_EQ(::pipe(to_child), 0);
  ASSERT_EQ(::pipe(to_parent), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) runSender(to_child[0], to_parent[1], child_listens);

  auto transport = transport::tcp::TcpTransport::create(killOptions());
  ASSERT_TRUE(transport);
  AcceptQueue accepted;
  std::unique_ptr<transport::Listener> listener;
  std::unique_ptr<transport::Channel> channel;
  if (child_listens) {
    uint16_t port = 0;
    ASSERT_EQ(::read(to_parent[0], &port, sizeof(port)), static_cast<ssize_t>(sizeof(port)));
    auto connected = (*transport)->connectAndWait("127.0.0.1", port);
    ASSERT_TRUE(connected) << connected.status().toString();
    channel = std::move(*connected);
  } else {
    auto bound = (*transport)->listen("127.0.0.1", 0, accepted.callback());
    ASSERT_TRUE(bound);
    listener = std::move(*bound);
    const uint16_t port = listener->port();
    ASSERT_EQ(::write(to_child[1], &port, sizeof(port)), static_cast<ssize_t>(sizeof(port)));
    channel = accepted.pop(deadline(20s));
  }
  ASSERT_TRUE(channel);
  EXPECT_TRUE(channel->peer().shared_memory);

  // Two whole messages arrive exactly; the child is killed during the next ones.
  std::vector<uint8_t> received(kMessageBytes);
  for (uint64_t stream = 1; stream <= 2; ++stream) {
    Completion got;
    std::fill(received.begin(), received.end(), 0);
    channel->recv(stream, received, got.callback());
    auto status = got.wait(deadline(30s));
    ASSERT_TRUE(status && status->isOk()) << (status ? status->toString() : "timeout");
    EXPECT_EQ(std::count(received.begin(), received.end(), 0x5a),
              static_cast<std::ptrdiff_t>(kMessageBytes));
  }
  Completion pending;
  channel->recv(3, received, pending.callback());
  ::kill(child, SIGKILL);
  const auto killed = std::chrono::steady_clock::now();
  int wait_status = 0;
  ASSERT_EQ(::waitpid(child, &wait_status, 0), child);
  EXPECT_TRUE(WIFSIGNALED(wait_status)) << "the child ended before the kill: " << wait_status;

  // Stream 3 either arrived before the kill or fails; a receive posted now must fail.
  pending.wait(deadline(10s));
  Completion after;
  channel->recv(4, received, after.callback());
  auto status = after.wait(deadline(10s));
  ASSERT_TRUE(status) << "the survivor did not notice the kill";
  EXPECT_FALSE(status->isOk());
  EXPECT_EQ(status->code(), Code::kConnectionError) << status->toString();
  EXPECT_LT(std::chrono::steady_clock::now() - killed, deadline(10s));

  EXPECT_TRUE(segmentsOf(child).empty());
  EXPECT_TRUE(segmentsOf(::getpid()).empty());
  channel.reset();
  listener.reset();
  for (int fd : {to_child[0], to_child[1], to_parent[0], to_parent[1]})
    ::close(fd);
}

INSTANTIATE_TEST_SUITE_P(WhoDies, ShmKill, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& param_info) {
                           return std::string(param_info.param ? "TheListener" : "TheConnector");
                         });

}  // namespace
}  // namespace eccl::test
