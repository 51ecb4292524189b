#include "tests/support/admission.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

namespace eccl::test {

void admit(const std::vector<comm::Communicator*>& accepted,
           const std::vector<comm::Communicator*>& joiners, std::chrono::milliseconds timeout) {
  if (joiners.empty()) return;
  std::vector<std::future<Status>> connecting;
  for (auto* joiner : joiners) {
    connecting.push_back(
        std::async(std::launch::async, [joiner, timeout] { return joiner->connect(timeout); }));
  }
  if (!accepted.empty()) {
    // Vote only once the master counts every joiner, or the update admits only some.
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (accepted[0]->peersPending() < static_cast<int>(joiners.size()) &&
           std::chrono::steady_clock::now() < until) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    std::vector<std::future<Status>> updates;
    for (auto* peer : accepted) {
      updates.push_back(std::async(std::launch::async,
                                   [peer, timeout] { return peer->updateTopology(timeout); }));
    }
    for (auto& update : updates) {
      Status s = update.get();
      EXPECT_TRUE(s.isOk()) << s.toString();
    }
  }
  for (auto& c : connecting) {
    Status s = c.get();
    EXPECT_TRUE(s.isOk()) << s.toString();
  }
  const int want = static_cast<int>(accepted.size() + joiners.size());
  for (const auto* list : {&accepted, &joiners}) {
    for (auto* peer : *list)
      EXPECT_EQ(peer->worldSize(), want);
  }
}

}  // namespace eccl::test
