#include "tests/support/channel_pair.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

namespace eccl::test {

transport::AcceptCallback AcceptQueue::callback() {
  return [state = state_](std::unique_ptr<transport::Channel> channel) {
    std::lock_guard lock(state->mu);
    state->channels.push_back(std::move(channel));
    state->cv.notify_all();
  };
}

std::unique_ptr<transport::Channel> AcceptQueue::pop(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mu);
  if (!state_->cv.wait_for(lock, timeout, [&] { return !state_->channels.empty(); }))
    return nullptr;
  auto channel = std::move(state_->channels.front());
  state_->channels.pop_front();
  return channel;
}

std::unique_ptr<ChannelPair> ChannelPair::listenOnly(const transport::ChannelOptions& options) {
  auto pair = std::make_unique<ChannelPair>();
  auto server = transport::tcp::TcpTransport::create(options);
  auto client = transport::tcp::TcpTransport::create(options);
  if (!server || !client) return nullptr;
  pair->server_transport = std::move(*server);
  pair->client_transport = std::move(*client);
  pair->transport = options.transport;
  auto listener = pair->server_transport->listen("127.0.0.1", 0, pair->accepted.callback());
  if (!listener) return nullptr;
  pair->listener = std::move(*listener);
  return pair;
}

Status ChannelPair::connect(uint16_t port) {
  auto channel = client_transport->connectAndWait("127.0.0.1", port);
  if (!channel) return channel.status();
  client = std::move(*channel);
  server = accepted.pop(deadline(std::chrono::seconds(10)));
  if (!server) return timeoutError("listener produced no channel");
  const bool shared = client->peer().shared_memory && server->peer().shared_memory;
  const bool any_shared = client->peer().shared_memory || server->peer().shared_memory;
  if (transport == transport::TransportChoice::kShm && !shared) {
    return internalError("the channel does not use shared memory on both ends");
  }
  if (transport == transport::TransportChoice::kTcp && any_shared) {
    return internalError("a TCP-only channel uses shared memory");
  }
  const int rdma = std::min(client->peer().rdma_connections, server->peer().rdma_connections);
  const int any_rdma = client->peer().rdma_connections + server->peer().rdma_connections;
  if (transport == transport::TransportChoice::kRdma && rdma != client->connectionCount()) {
    return internalError("only " + std::to_string(rdma) + " of the channel's " +
                         std::to_string(client->connectionCount()) + " connections use RDMA");
  }
  if (transport == transport::TransportChoice::kTcp && any_rdma > 0) {
    return internalError("a TCP-only channel uses RDMA");
  }
  return Status::ok();
}

std::unique_ptr<ChannelPair> ChannelPair::make(const transport::ChannelOptions& options) {
  auto pair = listenOnly(options);
  if (!pair) return nullptr;
  Status connected = pair->connect(pair->listener->port());
  if (!connected.isOk()) {
    ADD_FAILURE() << "channel set-up failed: " << connected.toString();
    return nullptr;
  }
  return pair;
}

ChannelPair::~ChannelPair() {
  client.reset();
  server.reset();
  listener.reset();
  client_transport.reset();
  server_transport.reset();
}

void Transfer::start(transport::Channel& from, transport::Channel& to, uint64_t stream) {
  to.recv(stream, received, got.callback());
  from.send(stream, data, sent.callback());
}

std::pair<std::optional<Status>, std::optional<Status>> Transfer::wait(
    std::chrono::milliseconds timeout) {
  auto send_result = sent.wait(timeout);
  auto recv_result = got.wait(timeout);
  return {send_result, recv_result};
}

std::string transferAndCheck(transport::Channel& from, transport::Channel& to, uint64_t stream,
                             size_t size, uint64_t seed, std::chrono::milliseconds timeout) {
  Transfer transfer(size, seed);
  transfer.start(from, to, stream);
  auto [s, r] = transfer.wait(timeout);
  if (!s) return "send did not complete";
  if (!r) return "receive did not complete";
  if (!s->isOk()) return "send failed: " + s->toString();
  if (!r->isOk()) return "receive failed: " + r->toString();
  if (auto at = firstDifference(transfer.data, transfer.received)) {
    return "byte " + std::to_string(*at) + " of " + std::to_string(size) + " differs";
  }
  return {};
}

ListenerAndClient::ListenerAndClient(const transport::ChannelOptions& server_options,
                                     const transport::ChannelOptions& client_options) {
  auto made_server = transport::tcp::TcpTransport::create(server_options);
  auto made_client = transport::tcp::TcpTransport::create(client_options);
  EXPECT_TRUE(made_server && made_client);
  if (!made_server || !made_client) return;
  server = std::move(*made_server);
  client = std::move(*made_client);
  auto made_listener = server->listen("127.0.0.1", 0, accepted.callback());
  EXPECT_TRUE(made_listener);
  if (made_listener) listener = std::move(*made_listener);
}

ListenerAndClient::~ListenerAndClient() {
  listener.reset();
  client.reset();
  server.reset();
}

}  // namespace eccl::test
