// Helpers the in-process collective tests share: running one call per peer at
// once (RingCluster and ChannelRing both do), and matching error messages.
#pragma once

#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "src/common/status.h"

namespace eccl::test {

// Runs fn(rank) on one thread per listed rank (all of 0..size-1 when empty)
// and returns the statuses by rank (untouched ranks are Ok). Every peer must
// call at once: a ring op waits for its neighbours.
inline std::vector<Status> runOnRanks(int size, const std::function<Status(int rank)>& fn,
                                      std::vector<int> ranks) {
  if (ranks.empty()) {
    for (int r = 0; r < size; ++r)
      ranks.push_back(r);
  }
  std::vector<Status> out(static_cast<size_t>(size));
  std::vector<std::thread> threads;
  for (int r : ranks)
    threads.emplace_back([&, r] { out[static_cast<size_t>(r)] = fn(r); });
  for (auto& t : threads)
    t.join();
  return out;
}

// Whether the status's message mentions `what`.
inline bool contains(const Status& s, const std::string& what) {
  return s.message().find(what) != std::string::npos;
}

}  // namespace eccl::test
