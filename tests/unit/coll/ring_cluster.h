// An in-process master and N communicators over loopback, formed into one
// ring, with a helper that runs one call per peer, each on its own thread.
#pragma once

#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "src/coll/coll_options.h"
#include "src/comm/communicator.h"
#include "src/membership/master_server.h"

namespace eccl::test {

// Options that make every all-reduce use the ring, whatever its size (tests
// of the ring's own behaviour: header turns, neighbour failures).
inline coll::CollOptions ringOnly(coll::CollOptions options = {}) {
  options.small_allreduce_bytes = 0;
  return options;
}

class RingCluster {
 public:
  explicit RingCluster(coll::CollOptions options = {}, comm::FaultHook fault_hook = {});
  ~RingCluster();

  // Adds `n` peers and admits them all into one ring (fails the test on error).
  void grow(int n);
  // The peers in ring order: peer(r)->rank() == r.
  comm::Communicator& peer(int rank) { return *by_rank_.at(static_cast<size_t>(rank)); }
  int size() const { return static_cast<int>(by_rank_.size()); }
  // Destroys the communicator of this rank (a graceful leave); ranks of the
  // others stay as they were until update().
  void destroy(int rank);
  // updateTopology on every live peer at once; then ranks are re-read.
  void update();

  const coll::CollOptions& collOptions() const { return coll_options_; }
  membership::MasterSnapshot masterSnapshot() const { return master_->snapshot(); }

  // Runs fn(rank) on one thread per listed rank (all live ranks when empty)
  // and returns their statuses, indexed by rank (untouched ranks are Ok).
  std::vector<Status> runEach(const std::function<Status(int rank)>& fn,
                              std::vector<int> ranks = {});

 private:
  void sortByRank();

  coll::CollOptions coll_options_;
  comm::FaultHook fault_hook_;
  std::unique_ptr<membership::MasterServer> master_;
  std::thread master_thread_;
  std::vector<std::unique_ptr<comm::Communicator>> peers_;
  std::vector<comm::Communicator*> by_rank_;
};

// An i32 sum of value = rank * 1000 + i on every live peer of the cluster,
// in place, checked element by element (fails the test otherwise).
void expectSumWorks(RingCluster& cluster, size_t count, uint64_t tag);

}  // namespace eccl::test
