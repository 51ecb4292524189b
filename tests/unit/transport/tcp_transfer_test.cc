// The striped channel on loopback: every byte arrives, in place, for every
// size and connection count; streams are independent of each other and of the
// order in which the two sides post them.
//
// The transport conformance suite: CTest runs it over TCP
// (transport_tcp_transfer_test); with ECCL_TEST_TRANSPORT=shm, where every
// channel must move its bytes through shared memory
// (transport_shm_transfer_test); with ECCL_TEST_TRANSPORT=rdma-loopback, where
// every connection must negotiate RDMA and move its bytes through queue pairs
// of the in-process loopback fabric (transport_rdma_loopback_transfer_test);
// and with ECCL_TEST_TRANSPORT=rdma, through this machine's RDMA device, every
// test skipping with the reason when it has none (transport_rdma_transfer_test).
// The test of TCP itself (a socket throttled behind a proxy) skips over shared
// memory and RDMA; pacing is a token bucket there.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string_view>
#include <thread>

#include "tests/support/channel_pair.h"
#include "tests/support/loopback_queue_pairs.h"
#include "tests/support/tcp_proxy.h"
#include "transport/rdma/verbs_queue_pair.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using transport::ChannelOptions;

std::string_view transportName() {
  const char* name = std::getenv("ECCL_TEST_TRANSPORT");
  return name != nullptr ? name : "tcp";
}

transport::TransportChoice transportUnderTest() {
  const std::string_view name = transportName();
  if (name == "shm") return transport::TransportChoice::kShm;
  if (name == "rdma" || name == "rdma-loopback") return transport::TransportChoice::kRdma;
  return transport::TransportChoice::kTcp;
}

bool bytesBypassTheSocket() {
  return transportUnderTest() != transport::TransportChoice::kTcp;
}

// The queue pairs of the RDMA runs: one in-process fabric for both ends, or
// this machine's device; the reason when it has none.
Result<std::shared_ptr<transport::rdma::QueuePairFactory>> rdmaQueuePairs() {
  static const auto fabric = LoopbackFabric::make();
  if (transportName() == "rdma-loopback") {
    return std::shared_ptr<transport::rdma::QueuePairFactory>(fabric);
  }
  return transport::rdma::sharedVerbsQueuePairs();
}

// ECCL_TEST_TRANSPORT=rdma on a machine without an RDMA device skips every test.
class RdmaDeviceRequired : public ::testing::Environment {
 public:
  void SetUp() override {
    if (transportName() != "rdma") return;
    if (auto found = rdmaQueuePairs(); !found) {
      GTEST_SKIP() << "no RDMA device to run the conformance suite on: "
                   << found.status().message();
    }
  }
};
const auto* const kRdmaDeviceRequired = ::testing::AddGlobalTestEnvironment(new RdmaDeviceRequired);

ChannelOptions withConnections(int connections, uint32_t chunk_bytes = 256 << 10) {
  ChannelOptions options;
  options.transport = transportUnderTest();
  // Rings smaller than a chunk: every message wraps them many times over.
  options.shm_ring_bytes = 192 << 10;
  options.rdma_ring_bytes = 128 << 10;
  if (transportUnderTest() == transport::TransportChoice::kRdma) {
    if (auto queue_pairs = rdmaQueuePairs()) options.rdma_queue_pairs = std::move(*queue_pairs);
  }
  options.connections = connections;
  options.max_connections_for_rtt = 0;  // exactly K, however long a handshake takes
  options.chunk_bytes = chunk_bytes;
  options.pool_bytes = 4 << 20;
  return options;
}

class TransferSizes : public ::testing::TestWithParam<int> {};

TEST_P(TransferSizes, EveryByteArrivesBothWays) {
  const int k = GetParam();
  auto pair = ChannelPair::make(withConnections(k, 64 << 10));
  ASSERT_TRUE(pair);
  EXPECT_EQ(pair->client->connectionCount(), k);
  EXPECT_EQ(pair->server->connectionCount(), k);
  const size_t chunk = 64 << 10;
  const std::vector<size_t> sizes = {0,     1,         1000,           chunk - 1,
                                     chunk, chunk + 1, 3 * chunk + 17, (16u << 20) + 5};
  uint64_t stream = 1;
  for (size_t size : sizes) {
    SCOPED_TRACE("size " + std::to_string(size));
    EXPECT_EQ(transferAndCheck(*pair->client, *pair->server, stream, size, stream, deadline(20s)),
              "");
    ++stream;
    EXPECT_EQ(transferAndCheck(*pair->server, *pair->client, stream, size, stream, deadline(20s)),
              "");
    ++stream;
  }
  EXPECT_TRUE(pair->client->status().isOk());
}

TEST_P(TransferSizes, OneGibibyte) {
  // EveryByteArrivesBothWays covers K = 1 and 16 under TSan; 1 GiB adds only time there.
  if (kThreadSanitizer && GetParam() != 4) GTEST_SKIP() << "1 GiB runs with K = 4 only under TSan";
  auto pair = ChannelPair::make(withConnections(GetParam(), 1 << 20));
  ASSERT_TRUE(pair);
  EXPECT_EQ(transferAndCheck(*pair->client, *pair->server, 42, size_t{1} << 30, 99, deadline(120s)),
            "");
  const auto stats = pair->client->stats();
  EXPECT_GE(stats.payload_bytes_sent, uint64_t{1} << 30);
  if (pair->client->peer().shared_memory) {
    // Over shared memory one ring carries every chunk; the others only ping.
    EXPECT_EQ(stats.connections[0].chunks_sent, uint64_t{1} << 10);
    for (size_t i = 1; i < stats.connections.size(); ++i)
      EXPECT_EQ(stats.connections[i].chunks_sent, 0u) << "connection " << i;
  } else {
    // Work stealing spreads chunks over every connection.
    for (const auto& connection : stats.connections)
      EXPECT_GT(connection.chunks_sent, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Connections, TransferSizes, ::testing::Values(1, 4, 16),
                         [](const ::testing::TestParamInfo<int>& param_info) {
                           return std::string("K") + std::to_string(param_info.param);
                         });

TEST(TcpTransfer, SendBeforeReceiveUsesThePoolAndLaterPostCompletes) {
  auto pair = ChannelPair::make(withConnections(4, 64 << 10));
  ASSERT_TRUE(pair);
  const auto data = pattern(512 << 10, 3);  // fits the 4 MiB pool
  Completion sent;
  pair->client->send(7, data, sent.callback());
  // The whole message travels at once into the receiver's pool...
  const auto until = std::chrono::steady_clock::now() + deadline(10s);
  while (pair->server->stats().pool_bytes_peak < data.size() &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(1ms);
  }
  EXPECT_EQ(pair->server->stats().pool_bytes_peak, data.size());
  // ...but the send completes only on delivery into a posted buffer.
  EXPECT_FALSE(sent.done());
  std::vector<uint8_t> received(data.size());
  Completion got;
  pair->server->recv(7, received, got.callback());
  auto r = got.wait(deadline(10s));
  auto s = sent.wait(deadline(10s));
  ASSERT_TRUE(r && s);
  EXPECT_TRUE(r->isOk()) << r->toString();
  EXPECT_TRUE(s->isOk()) << s->toString();
  EXPECT_FALSE(firstDifference(data, received).has_value());
  EXPECT_GT(pair->client->stats().eager_chunks_sent, 0u);
  EXPECT_GT(pair->server->stats().pool_bytes_peak, 0u);
}

TEST(TcpTransfer, MessageLargerThanThePoolWaitsForCreditThenCompletes) {
  auto pair = ChannelPair::make(withConnections(4, 64 << 10));
  ASSERT_TRUE(pair);
  const auto data = pattern(24 << 20, 4);  // six times the pool
  Completion sent;
  pair->client->send(9, data, sent.callback());
  std::this_thread::sleep_for(200ms);  // let the eager part fill the pool
  EXPECT_FALSE(sent.done()) << "the sender must wait for credit, not overrun the pool";
  EXPECT_LE(pair->server->stats().pool_bytes_peak, uint64_t{4} << 20);
  std::vector<uint8_t> received(data.size());
  Completion got;
  pair->server->recv(9, received, got.callback());
  auto s = sent.wait(deadline(20s));
  auto r = got.wait(deadline(20s));
  ASSERT_TRUE(s && r);
  EXPECT_TRUE(s->isOk()) << s->toString();
  EXPECT_TRUE(r->isOk()) << r->toString();
  EXPECT_FALSE(firstDifference(data, received).has_value());
}

// Both ends send A then B and receive B then A, each message larger than the
// peer's pool: without per-stream credit this deadlocks.
TEST(TcpTransfer, OppositePostingOrdersDoNotDeadlock) {
  auto pair = ChannelPair::make(withConnections(2, 64 << 10));
  ASSERT_TRUE(pair);
  const size_t size = 12 << 20;
  const auto a_from_client = pattern(size, 10), b_from_client = pattern(size, 11);
  const auto a_from_server = pattern(size, 12), b_from_server = pattern(size, 13);
  std::vector<uint8_t> a_at_server(size), b_at_server(size), a_at_client(size), b_at_client(size);
  Completion c_send_a, c_send_b, s_send_a, s_send_b, s_recv_a, s_recv_b, c_recv_a, c_recv_b;
  pair->client->send(1, a_from_client, c_send_a.callback());
  pair->client->send(2, b_from_client, c_send_b.callback());
  pair->server->send(1, a_from_server, s_send_a.callback());
  pair->server->send(2, b_from_server, s_send_b.callback());
  pair->server->recv(2, b_at_server, s_recv_b.callback());
  pair->client->recv(2, b_at_client, c_recv_b.callback());
  std::this_thread::sleep_for(50ms);
  pair->server->recv(1, a_at_server, s_recv_a.callback());
  pair->client->recv(1, a_at_client, c_recv_a.callback());
  for (Completion* c :
       {&c_send_a, &c_send_b, &s_send_a, &s_send_b, &s_recv_a, &s_recv_b, &c_recv_a, &c_recv_b}) {
    auto status = c->wait(deadline(30s));
    ASSERT_TRUE(status.has_value()) << "deadlock: an operation never completed";
    EXPECT_TRUE(status->isOk()) << status->toString();
  }
  EXPECT_EQ(a_at_server, a_from_client);
  EXPECT_EQ(b_at_server, b_from_client);
  EXPECT_EQ(a_at_client, a_from_server);
  EXPECT_EQ(b_at_client, b_from_server);
}

TEST(TcpTransfer, ManySmallStreamsPostedInRandomOrder) {
  auto pair = ChannelPair::make(withConnections(4, 64 << 10));
  ASSERT_TRUE(pair);
  constexpr int kStreams = 300;
  std::vector<std::vector<uint8_t>> sent(kStreams), received(kStreams);
  std::vector<Completion> send_done(kStreams), recv_done(kStreams);
  std::vector<int> order(kStreams);
  for (int i = 0; i < kStreams; ++i) {
    order[i] = i;
    sent[i] = pattern(static_cast<size_t>(i * 37 % 5000), 1000 + i);
    received[i].assign(sent[i].size(), 0);
  }
  std::mt19937 rng(5);
  std::shuffle(order.begin(), order.end(), rng);
  for (int i : order)
    pair->server->recv(500 + i, received[i], recv_done[i].callback());
  std::shuffle(order.begin(), order.end(), rng);
  for (int i : order)
    pair->client->send(500 + i, sent[i], send_done[i].callback());
  for (int i = 0; i < kStreams; ++i) {
    auto s = send_done[i].wait(deadline(20s));
    auto r = recv_done[i].wait(deadline(20s));
    ASSERT_TRUE(s && r) << "stream " << i;
    EXPECT_TRUE(s->isOk()) << s->toString();
    EXPECT_TRUE(r->isOk()) << r->toString();
    EXPECT_EQ(received[i], sent[i]) << "stream " << i;
  }
}

TEST(TcpTransfer, SendBufferIsFreeWhenTheSendCompletes) {
  auto pair = ChannelPair::make(withConnections(4, 64 << 10));
  ASSERT_TRUE(pair);
  auto data = pattern(8 << 20, 21);
  const auto original = data;
  std::vector<uint8_t> received(data.size());
  Completion sent, got;
  pair->server->recv(3, received, got.callback());
  pair->client->send(3, data, sent.callback());
  auto s = sent.wait(deadline(10s));
  ASSERT_TRUE(s && s->isOk());
  std::fill(data.begin(), data.end(), 0xEE);  // the caller reuses its buffer at once
  auto r = got.wait(deadline(10s));
  ASSERT_TRUE(r && r->isOk());
  EXPECT_FALSE(firstDifference(original, received).has_value());
}

// One connection of sixteen slowed to a trickle: its chunk turns late, is
// re-sent on another connection, and every message arrives exact long before
// the slow copy could (over 30 s at this rate). The parked connections get
// their first ping after 15 s, so the hedge has to come by itself.
TEST(TcpTransfer, ASlowConnectionDoesNotHoldTheChannel) {
  if (bytesBypassTheSocket()) GTEST_SKIP() << "throttles a TCP socket through a proxy";
  auto options = withConnections(16, 1 << 20);
  options.notsent_lowat = 16 << 10;
  options.hedge_min_bytes = 16 << 10;
  options.send_buffer = 64 << 10;  // the kernel takes a fraction of a chunk
  options.idle_timeout = 60s;
  auto pair = ChannelPair::listenOnly(options);
  ASSERT_TRUE(pair);
  TcpProxy proxy(pair->listener->port());
  for (int c = 0; c < 16; ++c) {
    // The proxy numbers connections in accept order; slow one of them.
    proxy.throttle(c, Direction::kUpstream, c == 3 ? 20 << 10 : 0);
  }
  ASSERT_TRUE(pair->connect(proxy.port()).isOk());
  for (int round = 0; round < 3; ++round) {
    ASSERT_EQ(
        transferAndCheck(*pair->client, *pair->server, 100 + round, 24 << 20, round, deadline(10s)),
        "");
  }
  const auto client = pair->client->stats();
  const auto server = pair->server->stats();
  EXPECT_GE(client.hedged_chunks_sent, 1u);
  EXPECT_EQ(server.messages_received, 3u);
}

// Several I/O threads per endpoint: connections of one channel run in parallel
// on their strands (the sanitizer presets check the locking).
TEST(TcpTransfer, SeveralIoThreadsPerEndpoint) {
  auto options = withConnections(8, 64 << 10);
  options.io_threads = 3;
  auto pair = ChannelPair::make(options);
  ASSERT_TRUE(pair);
  std::string problems[2];
  std::thread other([&] {
    for (int i = 0; i < 4 && problems[1].empty(); ++i) {
      problems[1] =
          transferAndCheck(*pair->server, *pair->client, 200 + i, (8 << 20) + i, i, deadline(30s));
    }
  });
  for (int i = 0; i < 4 && problems[0].empty(); ++i) {
    problems[0] =
        transferAndCheck(*pair->client, *pair->server, 100 + i, (8 << 20) - i, i, deadline(30s));
  }
  other.join();
  EXPECT_EQ(problems[0], "");
  EXPECT_EQ(problems[1], "");
}

TEST(TcpTransfer, ReusingAStreamIdAfterCompletion) {
  auto pair = ChannelPair::make(withConnections(4, 64 << 10));
  ASSERT_TRUE(pair);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(transferAndCheck(*pair->client, *pair->server, 5, 200 << 10, i, deadline(10s)), "")
        << "round " << i;
  }
}

TEST(TcpTransfer, ChecksummedChannelDeliversExactBytes) {
  auto options = withConnections(4, 64 << 10);
  options.checksum = true;
  auto pair = ChannelPair::make(options);
  ASSERT_TRUE(pair);
  EXPECT_EQ(transferAndCheck(*pair->client, *pair->server, 1, 5 << 20, 1, deadline(10s)), "");
  EXPECT_EQ(transferAndCheck(*pair->server, *pair->client, 2, 1, 2, deadline(10s)), "");
}

// K from the round-trip rule: `connections`, or one per `per` of the
// handshake's round trip, at most `cap`.
std::unique_ptr<ChannelPair> pairByRoundTrip(int connections, std::chrono::microseconds per,
                                             int cap) {
  auto options = withConnections(connections, 64 << 10);
  options.rtt_per_connection = per;
  options.max_connections_for_rtt = cap;
  return ChannelPair::make(options);
}

// Both ends see k connections, and bytes cross both ways.
void expectWorkingChannelOf(ChannelPair& pair, int k) {
  EXPECT_EQ(pair.client->connectionCount(), k);
  EXPECT_EQ(pair.server->connectionCount(), k);
  EXPECT_EQ(transferAndCheck(*pair.client, *pair.server, 1, 3 << 20, 1, deadline(10s)), "");
  EXPECT_EQ(transferAndCheck(*pair.server, *pair.client, 2, 3 << 20, 2, deadline(10s)), "");
}

TEST(TcpTransfer, ALongRoundTripOpensMoreConnections) {
  // One connection per microsecond, at most 2: no handshake, loopback's
  // included, takes under 2 us.
  auto pair = pairByRoundTrip(1, 1us, 2);
  ASSERT_TRUE(pair);
  expectWorkingChannelOf(*pair, 2);
}

TEST(TcpTransfer, AShortRoundTripKeepsTheConfiguredConnections) {
  auto pair = pairByRoundTrip(2, 1h, 16);
  ASSERT_TRUE(pair);
  expectWorkingChannelOf(*pair, 2);
}

TEST(TcpTransfer, ManyChannelsInParallel) {
  constexpr int kPairs = 12;
  std::vector<std::unique_ptr<ChannelPair>> pairs;
  for (int i = 0; i < kPairs; ++i) {
    pairs.push_back(ChannelPair::make(withConnections(2, 64 << 10)));
    ASSERT_TRUE(pairs.back());
  }
  std::vector<std::string> problems(kPairs * 2);
  std::vector<std::thread> threads;
  for (int i = 0; i < kPairs; ++i) {
    threads.emplace_back([&, i] {
      problems[2 * i] =
          transferAndCheck(*pairs[i]->client, *pairs[i]->server, 1, 6 << 20, i, deadline(60s));
    });
    threads.emplace_back([&, i] {
      problems[2 * i + 1] = transferAndCheck(*pairs[i]->server, *pairs[i]->client, 2, 6 << 20,
                                             100 + i, deadline(60s));
    });
  }
  for (auto& t : threads)
    t.join();
  for (const auto& problem : problems)
    EXPECT_EQ(problem, "");
}

// A paced sender moves no more than its cap: 12 MiB at 8 MB/s takes 1.57 s,
// so a receive done in under 1.2 s means the cap did not hold (a lower bound:
// a slow machine cannot make it fail). Lifting the cap restores full speed.
TEST(TcpPacing, CapHoldsThenLifts) {
  auto pair = ChannelPair::make(withConnections(4));
  ASSERT_TRUE(pair);
  using Clock = std::chrono::steady_clock;
  const auto seconds = [](Clock::duration d) { return std::chrono::duration<double>(d).count(); };

  pair->client->setPacingRate(8'000'000);  // holds for every byte sent after it
  Transfer paced(12u << 20, 1);
  const auto paced_start = Clock::now();
  paced.start(*pair->client, *pair->server, 1);
  auto paced_received = paced.got.wait(deadline(20s));
  const auto paced_took = Clock::now() - paced_start;
  ASSERT_TRUE(paced_received.has_value()) << "paced receive did not complete";
  ASSERT_TRUE(paced_received->isOk()) << paced_received->toString();
  auto paced_sent = paced.sent.wait(deadline(5s));
  ASSERT_TRUE(paced_sent && paced_sent->isOk());
  EXPECT_FALSE(firstDifference(paced.data, paced.received).has_value());
  std::printf("12 MiB paced at 8 MB/s: %.3f s (%.1f MB/s)\n", seconds(paced_took),
              (12u << 20) / seconds(paced_took) / 1e6);
  EXPECT_GE(paced_took, 1200ms) << "12 MiB arrived faster than 8 MB/s allows";

  pair->client->setPacingRate(0);
  Transfer unpaced(64u << 20, 2);
  const auto unpaced_start = Clock::now();
  unpaced.start(*pair->client, *pair->server, 2);
  auto unpaced_received = unpaced.got.wait(deadline(20s));
  const auto unpaced_took = Clock::now() - unpaced_start;
  ASSERT_TRUE(unpaced_received.has_value()) << "the lifted cap still throttles the channel";
  ASSERT_TRUE(unpaced_received->isOk()) << unpaced_received->toString();
  auto unpaced_sent = unpaced.sent.wait(deadline(5s));
  ASSERT_TRUE(unpaced_sent && unpaced_sent->isOk());
  EXPECT_FALSE(firstDifference(unpaced.data, unpaced.received).has_value());
  std::printf("64 MiB after lifting the cap: %.3f s (%.1f MB/s)\n", seconds(unpaced_took),
              (64u << 20) / seconds(unpaced_took) / 1e6);
  EXPECT_LT(unpaced_took, deadline(20s));
  EXPECT_TRUE(pair->client->status().isOk());
}

// Pacing a channel that is closing, has stopped, or has outlived its
// transport does nothing: no crash, no change of status, no stray I/O.
TEST(TcpPacing, SettingARateOnAClosedChannelIsHarmless) {
  auto pair = ChannelPair::make(withConnections(4, 64 << 10));
  ASSERT_TRUE(pair);
  Completion client_stopped, server_stopped;
  pair->client->setFailureHandler(client_stopped.callback());
  pair->server->setFailureHandler(server_stopped.callback());
  pair->client->close("pacing test");
  pair->client->setPacingRate(1'000'000);  // while the Goodbyes go out
  auto client_end = client_stopped.wait(deadline(10s));
  auto server_end = server_stopped.wait(deadline(10s));
  ASSERT_TRUE(client_end && server_end) << "the close did not complete";
  EXPECT_EQ(client_end->code(), Code::kAborted) << client_end->toString();
  EXPECT_EQ(server_end->code(), Code::kConnectionError) << server_end->toString();

  pair->client->setPacingRate(8'000'000);
  pair->client->setPacingRate(0);
  pair->server->setPacingRate(1);
  pair->client_transport.reset();
  pair->client->setPacingRate(1);
  pair->client->setPacingRate(0);
  EXPECT_EQ(pair->client->status().code(), Code::kAborted);
  EXPECT_EQ(pair->server->status().code(), Code::kConnectionError);
  std::vector<uint8_t> buffer(100);
  Completion after;
  pair->client->send(1, buffer, after.callback());
  ASSERT_TRUE(after.done()) << "calls on a stopped channel complete at once";
  EXPECT_EQ(after.wait(0ms)->code(), Code::kAborted);
}

}  // namespace
}  // namespace eccl::test
