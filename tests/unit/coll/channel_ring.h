// N in-process peers joined into a ring by TCP channels on loopback, without a
// master or communicators: each rank gets the RingView an op needs (as
// Communicator::ringViewLocked builds it), so that the ring collectives can be
// run and broken directly.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "src/coll/ring_view.h"
#include "tests/support/channel_pair.h"

namespace eccl::test {

class ChannelRing {
 public:
  // Fails the test (ASSERT) when the channels do not come up.
  explicit ChannelRing(int n, uint64_t revision = 1);
  ~ChannelRing();

  bool ok() const { return static_cast<int>(views_.size()) == n_; }
  int size() const { return n_; }
  const coll::RingView& view(int rank) const { return views_.at(static_cast<size_t>(rank)); }
  // Closes rank's channels to both its neighbours (as if it had died).
  void isolate(int rank, const std::string& why);

  // Runs fn(rank) on one thread per listed rank (all when empty); statuses by
  // rank (untouched ranks are Ok).
  std::vector<Status> runEach(const std::function<Status(int rank)>& fn,
                              std::vector<int> ranks = {});

 private:
  void build(uint64_t revision);

  const int n_;
  std::vector<std::unique_ptr<transport::tcp::TcpTransport>> transports_;
  std::vector<std::unique_ptr<transport::Listener>> listeners_;
  std::vector<AcceptQueue> accepted_;
  std::vector<coll::RingView> views_;
};

}  // namespace eccl::test
