#include "tests/unit/coll/channel_ring.h"

#include <gtest/gtest.h>

#include <utility>

#include "tests/unit/coll/peer_threads.h"

namespace eccl::test {

using namespace std::chrono_literals;

ChannelRing::ChannelRing(int n, uint64_t revision) : n_(n) {
  build(revision);
}

void ChannelRing::build(uint64_t revision) {
  transport::ChannelOptions options;
  options.connections = 2;
  accepted_.resize(static_cast<size_t>(n_));
  for (int r = 0; r < n_; ++r) {
    auto transport = transport::tcp::TcpTransport::create(options);
    ASSERT_TRUE(transport) << transport.status().toString();
    auto listener =
        (*transport)->listen("127.0.0.1", 0, accepted_[static_cast<size_t>(r)].callback());
    ASSERT_TRUE(listener) << listener.status().toString();
    transports_.push_back(std::move(*transport));
    listeners_.push_back(std::move(*listener));
  }
  // Link r joins rank r (connecting) to rank r + 1 (accepting); two peers share one.
  const int links = n_ == 1 ? 0 : n_ == 2 ? 1 : n_;
  std::vector<std::shared_ptr<transport::Channel>> to_next(static_cast<size_t>(n_));
  std::vector<std::shared_ptr<transport::Channel>> to_prev(static_cast<size_t>(n_));
  for (int r = 0; r < links; ++r) {
    const auto next = static_cast<size_t>((r + 1) % n_);
    auto client =
        transports_[static_cast<size_t>(r)]->connectAndWait("127.0.0.1", listeners_[next]->port());
    ASSERT_TRUE(client) << client.status().toString();
    auto server = accepted_[next].pop(deadline(10s));
    ASSERT_TRUE(server) << "rank " << next << " accepted no channel";
    to_next[static_cast<size_t>(r)] = std::move(*client);
    to_prev[next] = std::move(server);
  }
  if (n_ == 2) {
    to_prev[0] = to_next[0];
    to_next[1] = to_prev[1];
  }
  for (int r = 0; r < n_; ++r) {
    coll::RingView view;
    view.self = transports_[static_cast<size_t>(r)]->endpointId();
    view.rank = static_cast<uint32_t>(r);
    view.world_size = static_cast<uint32_t>(n_);
    view.revision = revision;
    if (n_ > 1) {
      const auto prev = static_cast<uint32_t>((r + n_ - 1) % n_);
      const auto next = static_cast<uint32_t>((r + 1) % n_);
      view.prev = {to_prev[static_cast<size_t>(r)], transports_[prev]->endpointId(), prev};
      view.next = {to_next[static_cast<size_t>(r)], transports_[next]->endpointId(), next};
    }
    views_.push_back(std::move(view));
  }
}

ChannelRing::~ChannelRing() {
  // Channels first (destroying one closes it), then what made them.
  views_.clear();
  listeners_.clear();
  transports_.clear();
}

void ChannelRing::isolate(int rank, const std::string& why) {
  const coll::RingView& v = view(rank);
  if (v.next.channel) v.next.channel->close(why);
  if (v.prev.channel) v.prev.channel->close(why);
}

std::vector<Status> ChannelRing::runEach(const std::function<Status(int rank)>& fn,
                                         std::vector<int> ranks) {
  return runOnRanks(n_, fn, std::move(ranks));
}

}  // namespace eccl::test
