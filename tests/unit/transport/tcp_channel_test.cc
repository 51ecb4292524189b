// The striped TCP channel on loopback: every byte arrives, in place, for every
// size and connection count; streams are independent; failures are reported on
// both ends within bounded time.
#include <gtest/gtest.h>

#include "tests/support/channel_pair.h"
#include "tests/support/tcp_proxy.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using transport::ChannelOptions;

ChannelOptions smallChunks(int connections) {
  ChannelOptions options;
  options.connections = connections;
  options.chunk_bytes = 64 << 10;
  options.pool_bytes = 1 << 20;
  return options;
}

TEST(TcpChannel, SmokeTransfersOneMessage) {
  auto pair = ChannelPair::make(smallChunks(4));
  ASSERT_TRUE(pair);
  EXPECT_EQ(transferAndCheck(*pair->client, *pair->server, 1, 1 << 20, 7, deadline(10s)), "");
  EXPECT_EQ(transferAndCheck(*pair->server, *pair->client, 2, 3 << 20, 8, deadline(10s)), "");
}

}  // namespace
}  // namespace eccl::test
