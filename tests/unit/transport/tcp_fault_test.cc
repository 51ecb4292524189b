// Faults on the striped TCP channel: resets, black holes, corruption, bad
// clients, stream-level misuse. Every failure reaches both ends with a clear
// error within bounded time, and nothing else is disturbed.
#include <gtest/gtest.h>

#include <thread>

#include "src/protocol/messages.h"
#include "tests/support/channel_pair.h"
#include "tests/support/raw_socket.h"
#include "tests/support/tcp_proxy.h"
#include "transport/shm/shm_offer.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using transport::ChannelOptions;

ChannelOptions faultOptions(int connections = 2) {
  ChannelOptions options;
  options.transport = transport::TransportChoice::kTcp;  // faults of TCP connections
  options.connections = connections;
  options.chunk_bytes = 64 << 10;
  options.pool_bytes = 1 << 20;
  options.handshake_timeout = 2000ms;
  options.connect_timeout = 2000ms;
  return options;
}

// Bytes a connector writes on each connection before its first data frame:
// its transport offer (TCP only here) and its Hello.
constexpr uint64_t kHelloFrameBytes =
    transport::shm::Offer::kSize + protocol::kFrameHeaderSize + protocol::Hello::kMaxEncodedSize;

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

TEST(TcpFault, ResetMidTransferFailsBothEnds) {
  auto pair = ChannelPair::listenOnly(faultOptions());
  ASSERT_TRUE(pair);
  TcpProxy proxy(pair->listener->port());
  proxy.resetAfter(1, 2 << 20);
  ASSERT_TRUE(pair->connect(proxy.port()).isOk());
  Transfer transfer(32 << 20, 1);
  transfer.start(*pair->client, *pair->server, 1);
  auto [s, r] = transfer.wait(deadline(10s));
  ASSERT_TRUE(s.has_value()) << "sender hung after a reset";
  ASSERT_TRUE(r.has_value()) << "receiver hung after a reset";
  EXPECT_EQ(s->code(), Code::kConnectionError) << s->toString();
  EXPECT_EQ(r->code(), Code::kConnectionError) << r->toString();
  EXPECT_FALSE(pair->client->status().isOk());
  EXPECT_FALSE(pair->server->status().isOk());
  // A failed channel refuses new work at once, with the same reason.
  Completion late;
  pair->client->send(2, transfer.data, late.callback());
  ASSERT_TRUE(late.done());
  EXPECT_EQ(late.wait(0ms)->code(), Code::kConnectionError);
}

TEST(TcpFault, BlackHoledPathFailsBothEndsWithinTheIdleTimeout) {
  auto options = faultOptions();
  options.idle_timeout = 600ms;
  auto pair = ChannelPair::listenOnly(options);
  ASSERT_TRUE(pair);
  TcpProxy proxy(pair->listener->port());
  ASSERT_TRUE(pair->connect(proxy.port()).isOk());
  // Idle channels stay up: pings keep them alive across several timeouts.
  std::this_thread::sleep_for(3 * options.idle_timeout);
  ASSERT_TRUE(pair->client->status().isOk()) << pair->client->status().toString();
  ASSERT_TRUE(pair->server->status().isOk()) << pair->server->status().toString();

  Transfer transfer(1 << 20, 2);
  const auto start = std::chrono::steady_clock::now();
  proxy.blackhole();
  transfer.start(*pair->client, *pair->server, 1);
  auto [s, r] = transfer.wait(deadline(10s));
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(s && r) << "a black-holed channel must fail, not hang";
  EXPECT_EQ(s->code(), Code::kTimeout) << s->toString();
  EXPECT_EQ(r->code(), Code::kTimeout) << r->toString();
  EXPECT_TRUE(contains(r->message(), "no bytes from")) << r->message();
  // Detection: the idle timeout plus at most one liveness tick, with slack for scheduling.
  EXPECT_LT(elapsed, deadline(options.idle_timeout * 2 + 500ms));
}

TEST(TcpFault, CorruptFrameFailsOnlyThatChannel) {
  auto options = faultOptions();
  auto pair = ChannelPair::listenOnly(options);
  ASSERT_TRUE(pair);
  TcpProxy proxy(pair->listener->port());
  // The magic of the first frame after the Hello, on both connections (either
  // may carry the first chunks).
  proxy.corruptAt(0, kHelloFrameBytes, 0xFF);
  proxy.corruptAt(1, kHelloFrameBytes, 0xFF);
  ASSERT_TRUE(pair->connect(proxy.port()).isOk());
  // A second channel between the same two endpoints, not through the proxy.
  auto direct = pair->client_transport->connectAndWait("127.0.0.1", pair->listener->port());
  ASSERT_TRUE(direct) << direct.status().toString();
  auto direct_server = pair->accepted.pop(deadline(5s));
  ASSERT_TRUE(direct_server);

  Transfer transfer(4 << 20, 3);
  transfer.start(*pair->client, *pair->server, 1);
  auto [s, r] = transfer.wait(deadline(10s));
  ASSERT_TRUE(r && s);
  EXPECT_EQ(r->code(), Code::kProtocolError) << r->toString();
  EXPECT_TRUE(contains(r->message(), "bad frame magic")) << r->message();
  EXPECT_TRUE(contains(r->message(), "127.0.0.1")) << "the error names the peer: " << r->message();
  EXPECT_EQ(s->code(), Code::kConnectionError) << s->toString();

  EXPECT_EQ(transferAndCheck(**direct, *direct_server, 9, 4 << 20, 4, deadline(10s)), "");
  EXPECT_TRUE((*direct)->status().isOk());
}

TEST(TcpFault, ChecksumCatchesACorruptPayloadByte) {
  auto options = faultOptions();
  options.checksum = true;
  auto pair = ChannelPair::listenOnly(options);
  ASSERT_TRUE(pair);
  TcpProxy proxy(pair->listener->port());
  const uint64_t payload_byte =
      kHelloFrameBytes + protocol::kFrameHeaderSize + protocol::ChunkHeader::kEncodedSize + 100;
  proxy.corruptAt(0, payload_byte, 0x01);
  proxy.corruptAt(1, payload_byte, 0x01);
  ASSERT_TRUE(pair->connect(proxy.port()).isOk());
  Transfer transfer(1 << 20, 5);
  transfer.start(*pair->client, *pair->server, 1);
  auto [s, r] = transfer.wait(deadline(10s));
  ASSERT_TRUE(r && s);
  EXPECT_EQ(r->code(), Code::kProtocolError) << r->toString();
  EXPECT_TRUE(contains(r->message(), "checksum")) << r->message();
  EXPECT_EQ(s->code(), Code::kConnectionError) << s->toString();
}

TEST(TcpFault, GarbageClientIsDroppedAndTheListenerCarriesOn) {
  auto pair = ChannelPair::listenOnly(faultOptions());
  ASSERT_TRUE(pair);
  RawSocket garbage(pair->listener->port());
  ASSERT_TRUE(garbage.valid());
  const std::string request(64, 'G');
  garbage.send({reinterpret_cast<const uint8_t*>(request.data()), request.size()});
  EXPECT_TRUE(garbage.waitClosedByPeer(deadline(2s)));
  EXPECT_TRUE(pair->connect(pair->listener->port()).isOk());
  EXPECT_EQ(transferAndCheck(*pair->client, *pair->server, 1, 1000, 1, deadline(5s)), "");
}

std::vector<uint8_t> rawHeader(uint8_t version, uint8_t type, uint32_t length) {
  std::vector<uint8_t> bytes(protocol::kFrameHeaderSize, 0);
  bytes[0] = 'E';
  bytes[1] = 'C';
  bytes[2] = 'C';
  bytes[3] = 'L';
  bytes[4] = version;
  bytes[5] = type;
  protocol::storeLe<uint32_t>(bytes.data() + 8, length);
  return bytes;
}

TEST(TcpFault, UnsupportedVersionIsDroppedAtOnce) {
  auto pair = ChannelPair::listenOnly(faultOptions());
  ASSERT_TRUE(pair);
  RawSocket client(pair->listener->port());
  ASSERT_TRUE(client.sendTcpOffer());
  ASSERT_TRUE(client.send(rawHeader(protocol::kProtocolVersion + 1, 1, 10)));
  // Well before the 2 s handshake timeout: the header alone condemns it.
  EXPECT_TRUE(client.waitClosedByPeer(deadline(1s)));
}

TEST(TcpFault, OversizedDeclaredLengthIsRefusedFromTheHeader) {
  auto pair = ChannelPair::listenOnly(faultOptions());
  ASSERT_TRUE(pair);
  RawSocket client(pair->listener->port());
  ASSERT_TRUE(client.sendTcpOffer());
  ASSERT_TRUE(client.send(rawHeader(protocol::kProtocolVersion, 1, 1u << 30)));
  EXPECT_TRUE(client.waitClosedByPeer(deadline(1s)));
}

TEST(TcpFault, SilentClientIsDroppedAfterTheHandshakeTimeout) {
  auto options = faultOptions();
  options.handshake_timeout = 300ms;
  auto pair = ChannelPair::listenOnly(options);
  ASSERT_TRUE(pair);
  RawSocket silent(pair->listener->port());
  ASSERT_TRUE(silent.valid());
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.waitClosedByPeer(deadline(3s)));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 250ms);
}

TEST(TcpFault, OneHostCannotFillTheListenersHandshakeTable) {
  auto options = faultOptions();
  options.max_pending_handshakes_per_host = 2;
  options.handshake_timeout = 5000ms;
  auto pair = ChannelPair::listenOnly(options);
  ASSERT_TRUE(pair);
  std::vector<std::unique_ptr<RawSocket>> flood;
  for (int i = 0; i < 4; ++i) {
    flood.push_back(std::make_unique<RawSocket>(pair->listener->port(), "127.0.0.2"));
    ASSERT_TRUE(flood.back()->valid());
  }
  int shed = 0;
  for (auto& socket : flood)
    shed += socket->waitClosedByPeer(300ms) ? 1 : 0;
  EXPECT_EQ(shed, 2) << "connections beyond the per-host limit are dropped";
  // A client from another address still gets its channel (two connections).
  ASSERT_TRUE(pair->connect(pair->listener->port()).isOk());
  EXPECT_EQ(transferAndCheck(*pair->client, *pair->server, 1, 1 << 20, 3, deadline(10s)), "");
}

TEST(TcpFault, IncompleteChannelIsDroppedAfterTheHandshakeTimeout) {
  auto options = faultOptions();
  options.handshake_timeout = 300ms;
  auto pair = ChannelPair::listenOnly(options);
  ASSERT_TRUE(pair);
  protocol::Hello hello;
  hello.endpoint = EndpointId::random();
  hello.channel = EndpointId::random();
  hello.connection_index = 0;
  hello.connection_count = 2;  // the second connection never comes
  hello.chunk_bytes = 64 << 10;
  hello.pool_bytes = 1 << 20;
  RawSocket half(pair->listener->port());
  ASSERT_TRUE(half.sendTcpOffer());
  ASSERT_TRUE(half.send(protocol::encodeFrame(hello)));
  EXPECT_TRUE(half.waitClosedByPeer(deadline(3s)));
}

// A listener and its transport that go while clients are still connecting
// and saying Hello: every connection it accepted is closed, none is left open
// (a connection and its handshake hold each other until the connection stops
// on its strand; the transport must not stop its I/O before that).
TEST(TcpFault, ATransportDestroyedAmidHandshakesClosesEveryConnection) {
  auto options = faultOptions();
  options.handshake_timeout = 10000ms;  // only a close ends these handshakes in time
  for (int round = 0; round < 24; ++round) {
    auto pair = ChannelPair::listenOnly(options);
    ASSERT_TRUE(pair);
    const uint16_t port = pair->listener->port();
    std::vector<std::unique_ptr<RawSocket>> clients;
    std::thread connecting([&] {
      for (int i = 0; i < 6; ++i) {
        auto client = std::make_unique<RawSocket>(port);
        if (!client->valid()) continue;  // the listener has gone already
        protocol::Hello hello;
        hello.endpoint = EndpointId::random();
        hello.channel = EndpointId::random();
        hello.connection_index = 0;
        hello.connection_count = 2;  // waits for a second connection that never comes
        hello.chunk_bytes = 64 << 10;
        hello.pool_bytes = 1 << 20;
        client->sendTcpOffer();
        if (i % 2 == 0) client->send(protocol::encodeFrame(hello));
        clients.push_back(std::move(client));
      }
    });
    // The close lands before, among and after the accepts as the rounds go.
    std::this_thread::sleep_for(std::chrono::microseconds(100 * round));
    pair->listener.reset();
    pair->server_transport.reset();
    connecting.join();
    for (size_t i = 0; i < clients.size(); ++i) {
      EXPECT_TRUE(clients[i]->waitClosedByPeer(2s)) << "round " << round << ", client " << i;
    }
  }
}

TEST(TcpFault, ConnectingToAClosedPortFailsQuickly) {
  auto pair = ChannelPair::listenOnly(faultOptions());
  ASSERT_TRUE(pair);
  const uint16_t port = pair->listener->port();
  pair->listener.reset();
  std::this_thread::sleep_for(50ms);
  auto channel = pair->client_transport->connectAndWait("127.0.0.1", port);
  ASSERT_FALSE(channel);
  EXPECT_EQ(channel.status().code(), Code::kConnectionError) << channel.status().toString();
}

TEST(TcpFault, ConnectingIntoABlackHoleTimesOut) {
  auto options = faultOptions();
  options.connect_timeout = 300ms;
  options.handshake_timeout = 300ms;
  auto pair = ChannelPair::listenOnly(options);
  ASSERT_TRUE(pair);
  TcpProxy proxy(pair->listener->port());
  proxy.blackhole();
  auto channel = pair->client_transport->connectAndWait("127.0.0.1", proxy.port());
  ASSERT_FALSE(channel);
  EXPECT_EQ(channel.status().code(), Code::kTimeout) << channel.status().toString();
}

TEST(TcpFault, GracefulCloseEndsPendingOperationsOnBothSides) {
  auto pair = ChannelPair::make(faultOptions());
  ASSERT_TRUE(pair);
  std::vector<uint8_t> a(100), b(100);
  Completion server_recv, client_recv;
  pair->server->recv(1, a, server_recv.callback());
  pair->client->recv(2, b, client_recv.callback());
  pair->client->close("rebalancing");
  auto remote = server_recv.wait(deadline(5s));
  auto local = client_recv.wait(deadline(5s));
  ASSERT_TRUE(remote && local);
  EXPECT_EQ(remote->code(), Code::kConnectionError);
  EXPECT_TRUE(contains(remote->message(), "rebalancing")) << remote->message();
  EXPECT_EQ(local->code(), Code::kAborted) << local->toString();
}

TEST(TcpFault, AMessageReceivedJustBeforeACloseCompletesOnTheSender) {
  // The receiver's Delivered and its Goodbyes may travel on different
  // connections: the sender ends the channel only after every Goodbye, so the
  // delivery is read first and the send completes instead of failing.
  for (int round = 0; round < 30; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    auto pair = ChannelPair::make(faultOptions());
    ASSERT_TRUE(pair);
    std::vector<uint8_t> message(64, 7), into(64);
    Completion received, sent;
    pair->server->recv(3, into, received.callback());
    pair->client->send(3, message, sent.callback());
    auto got = received.wait(deadline(5s));
    ASSERT_TRUE(got && got->isOk());
    pair->server->close("done");
    auto outcome = sent.wait(deadline(5s));
    ASSERT_TRUE(outcome);
    EXPECT_TRUE(outcome->isOk()) << outcome->toString();
  }
}

TEST(TcpFault, DestroyingTheTransportAbortsPendingOperations) {
  auto pair = ChannelPair::make(faultOptions());
  ASSERT_TRUE(pair);
  std::vector<uint8_t> buffer(100);
  Completion pending;
  pair->client->recv(1, buffer, pending.callback());
  pair->client_transport.reset();
  auto status = pending.wait(deadline(5s));
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->code(), Code::kAborted) << status->toString();
  Completion after;
  pair->client->send(2, buffer, after.callback());
  ASSERT_TRUE(after.done()) << "calls on an orphaned channel complete at once";
  EXPECT_EQ(after.wait(0ms)->code(), Code::kAborted);
}

class SizeMismatch : public ::testing::TestWithParam<std::tuple<size_t, size_t, bool>> {};

// The receiver's buffer has another size than the message: both ends get a
// clear error for that stream only, and the channel keeps working.
TEST_P(SizeMismatch, FailsTheStreamOnBothEndsOnly) {
  const auto [message_size, buffer_size, post_first] = GetParam();
  auto pair = ChannelPair::make(faultOptions());
  ASSERT_TRUE(pair);
  const auto data = pattern(message_size, 6);
  std::vector<uint8_t> buffer(buffer_size);
  Completion sent, got;
  if (post_first) pair->server->recv(4, buffer, got.callback());
  pair->client->send(4, data, sent.callback());
  if (!post_first) {
    std::this_thread::sleep_for(50ms);
    pair->server->recv(4, buffer, got.callback());
  }
  auto s = sent.wait(deadline(10s));
  auto r = got.wait(deadline(10s));
  ASSERT_TRUE(s && r) << "a size mismatch must end both operations";
  EXPECT_EQ(s->code(), Code::kInvalidUsage) << s->toString();
  EXPECT_EQ(r->code(), Code::kInvalidUsage) << r->toString();
  EXPECT_TRUE(contains(r->message(), std::to_string(message_size))) << r->message();
  EXPECT_TRUE(pair->client->status().isOk());
  EXPECT_TRUE(pair->server->status().isOk());
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(transferAndCheck(*pair->client, *pair->server, 5 + i, 3 << 20, i, deadline(10s)), "");
  }
  // The same stream id works again once both ends have given up on it.
  EXPECT_EQ(transferAndCheck(*pair->client, *pair->server, 4, 2 << 20, 9, deadline(10s)), "");
}

INSTANTIATE_TEST_SUITE_P(
    Cases, SizeMismatch,
    ::testing::Values(std::make_tuple(size_t{2000}, size_t{1000}, true),
                      std::make_tuple(size_t{1000}, size_t{2000}, true),
                      std::make_tuple(size_t{2000}, size_t{1000}, false),
                      // Larger than the pool: the mismatch shows in the credit first.
                      std::make_tuple(size_t{8} << 20, size_t{4} << 20, true),
                      std::make_tuple(size_t{8} << 20, size_t{4} << 20, false)));

TEST(TcpFault, SecondReceiveOnTheSameStreamIsInvalidUsage) {
  auto pair = ChannelPair::make(faultOptions());
  ASSERT_TRUE(pair);
  std::vector<uint8_t> first(10), second(10);
  Completion one, two;
  pair->server->recv(1, first, one.callback());
  pair->server->recv(1, second, two.callback());
  ASSERT_TRUE(two.done());
  EXPECT_EQ(two.wait(0ms)->code(), Code::kInvalidUsage);
  const auto data = pattern(10, 1);
  Completion sent;
  pair->client->send(1, data, sent.callback());
  auto r = one.wait(deadline(5s));
  auto s = sent.wait(deadline(5s));
  ASSERT_TRUE(r && r->isOk());
  ASSERT_TRUE(s && s->isOk());
  EXPECT_EQ(first, data);
}

TEST(TcpFault, InvalidOptionsAreRejected) {
  ChannelOptions options;
  options.connections = 0;
  auto transport = transport::tcp::TcpTransport::create(options);
  ASSERT_FALSE(transport);
  EXPECT_EQ(transport.status().code(), Code::kInvalidArgument);
  options = ChannelOptions{};
  options.chunk_bytes = 100;
  EXPECT_FALSE(transport::tcp::TcpTransport::create(options));
  options = ChannelOptions{};
  options.max_pending_handshakes_per_host = 0;
  EXPECT_FALSE(transport::tcp::TcpTransport::create(options));
}

}  // namespace
}  // namespace eccl::test
