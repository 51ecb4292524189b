// Two TCP transports on 127.0.0.1 joined by one channel, for transport tests.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>

#include "tests/support/test_env.h"
#include "transport/tcp/tcp_transport.h"

namespace eccl::test {

// Collects channels a listener accepts.
class AcceptQueue {
 public:
  transport::AcceptCallback callback();
  std::unique_ptr<transport::Channel> pop(std::chrono::milliseconds timeout);

 private:
  struct State {
    std::mutex mu;
    std::condition_variable cv;
    std::deque<std::unique_ptr<transport::Channel>> channels;
  };
  std::shared_ptr<State> state_ = std::make_shared<State>();
};

struct ChannelPair {
  std::unique_ptr<transport::tcp::TcpTransport> server_transport;
  std::unique_ptr<transport::tcp::TcpTransport> client_transport;
  std::unique_ptr<transport::Listener> listener;
  AcceptQueue accepted;
  std::unique_ptr<transport::Channel> client;  // the connecting side
  std::unique_ptr<transport::Channel> server;  // the accepting side
  // kShm: connect() fails unless both ends use shared memory; kRdma: unless
  // every connection of both ends uses RDMA; kTcp: unless neither does either.
  transport::TransportChoice transport = transport::TransportChoice::kAuto;

  // Listens, connects (through a proxy port if given) and waits for both ends.
  static std::unique_ptr<ChannelPair> make(const transport::ChannelOptions& options);
  // Listener up, nothing connected yet (tests that connect themselves).
  static std::unique_ptr<ChannelPair> listenOnly(const transport::ChannelOptions& options);
  Status connect(uint16_t port);

  // Closes the channels before the transports go.
  ~ChannelPair();
};

// A listener and a transport that connects to it, each with its own options
// (tests of ends that disagree: secrets, certificates). Closes the listener
// before the transports go.
struct ListenerAndClient {
  ListenerAndClient(const transport::ChannelOptions& server_options,
                    const transport::ChannelOptions& client_options);
  ~ListenerAndClient();

  std::unique_ptr<transport::tcp::TcpTransport> server;
  std::unique_ptr<transport::tcp::TcpTransport> client;
  AcceptQueue accepted;
  std::unique_ptr<transport::Listener> listener;
};

// One message on its way between two channel ends. It owns both buffers, so a
// test that gives up early cannot free memory the channel still uses.
struct Transfer {
  Transfer(size_t size, uint64_t seed) : data(pattern(size, seed)), received(size, 0) {}
  // Posts the receive on `to`, then sends from `from`.
  void start(transport::Channel& from, transport::Channel& to, uint64_t stream);
  // Waits for both ends; an empty optional is an end that did not finish in time.
  std::pair<std::optional<Status>, std::optional<Status>> wait(std::chrono::milliseconds timeout);

  const std::vector<uint8_t> data;
  std::vector<uint8_t> received;
  Completion sent, got;
};

// Sends data on one end, receives it on the other, and checks every byte.
// Returns the first problem, or an empty string.
std::string transferAndCheck(transport::Channel& from, transport::Channel& to, uint64_t stream,
                             size_t size, uint64_t seed, std::chrono::milliseconds timeout);

}  // namespace eccl::test
