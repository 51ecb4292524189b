// All-reduce through a data plane that flips bits (ECCL_FAULTS corrupt) with
// frame checksums on: an op either succeeds with the exact sum on every
// member, or fails on every member, which then carry on after a topology
// update. Never a silently wrong sum.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "tests/unit/membership/inprocess_fixture.h"
#include "transport/fault_spec.h"

namespace eccl::test {
namespace {

class FaultyAllReduce : public InProcessCluster {
 protected:
  // A peer with checksums on, and with `rules` injected into its sends.
  comm::Communicator& addFaultyPeer(const char* rules) {
    comm::CommOptions options;
    options.master_host = "127.0.0.1";
    options.master_port = master_options_.listen_port;
    options.group = "g";
    options.listen_host = "127.0.0.1";
    options.channel.connections = 2;
    options.channel.checksum = true;
    if (rules != nullptr) {
      auto spec = transport::parseFaultSpec(rules);
      EXPECT_TRUE(spec) << spec.status().toString();
      options.channel.faults = std::make_shared<const transport::FaultSpec>(*spec);
    }
    auto comm = comm::Communicator::create(options);
    EXPECT_TRUE(comm) << comm.status().toString();
    peers_.push_back(std::move(*comm));
    return *peers_.back();
  }
};

TEST_F(FaultyAllReduce, CorruptedChunksFailTheOpOnEveryMemberNeverTheSum) {
  auto ring = rankedRing(
      {&addFaultyPeer(nullptr), &addFaultyPeer("corrupt:p=0.2;seed=5"), &addFaultyPeer(nullptr)});
  constexpr size_t kCount = 1 << 18;  // 1 MiB of f32: a few chunks per step
  int succeeded = 0, failed = 0;
  for (int op = 0; op < 24; ++op) {
    std::vector<std::vector<float>> data(3, std::vector<float>(kCount));
    for (int r = 0; r < 3; ++r)
      for (size_t i = 0; i < kCount; ++i)
        data[r][i] = static_cast<float>((r + 1) * (i % 7) + op);
    std::vector<std::future<Status>> calls;
    for (int r = 0; r < 3; ++r) {
      calls.push_back(std::async(std::launch::async, [&, r] {
        return ring[r]->allReduce(data[r].data(), data[r].data(), kCount, reduce::DType::kF32,
                                  reduce::ReduceOp::kSum, 9, deadline(20s), nullptr);
      }));
    }
    std::vector<Status> results;
    for (auto& call : calls)
      results.push_back(call.get());
    const bool ok = results[0].isOk();
    for (int r = 0; r < 3; ++r) {
      ASSERT_EQ(results[r].isOk(), ok)
          << "op " << op << ": members disagree: rank " << r << " " << results[r].toString();
    }
    if (ok) {
      ++succeeded;
      for (int r = 0; r < 3; ++r)
        for (size_t i = 0; i < kCount; ++i)
          ASSERT_EQ(data[r][i], static_cast<float>(6 * (i % 7) + 3 * op)) << op << " " << r;
      continue;
    }
    ++failed;
    std::vector<std::future<Status>> updates;
    for (int r = 0; r < 3; ++r)
      updates.push_back(std::async(std::launch::async,
                                   [&, r] { return ring[r]->updateTopology(deadline(20s)); }));
    for (auto& update : updates) {
      Status status = update.get();
      ASSERT_TRUE(status.isOk()) << status.toString();
    }
    std::sort(ring.begin(), ring.end(), [](auto* a, auto* b) { return a->rank() < b->rank(); });
  }
  EXPECT_GT(failed, 0) << "no corruption reached a chunk: the test proved nothing";
  EXPECT_GT(succeeded, 0);
}

TEST_F(FaultyAllReduce, APeerThatCannotStartTheOpFailsItsNeighboursAtOnce) {
  // One peer resets the connection of the first chunk it sends (its op header
  // to the next rank). That next rank starts the op only afterwards: it finds
  // no channel to its left and fails before sending a byte. Its right
  // neighbour, waiting for its header, must fail at once too (the channel
  // between them is closed with the reason), not at its 20 s deadline, and so
  // must everyone else; then they all update together.
  std::vector<comm::Communicator*> peers = {&addFaultyPeer(nullptr),
                                            &addFaultyPeer("drop_conn:p=1"),
                                            &addFaultyPeer(nullptr), &addFaultyPeer(nullptr)};
  comm::Communicator* faulty = peers[1];
  auto ring = rankedRing(peers);
  const int f = faulty->rank();
  const int late = (f + 1) % 4;
  constexpr size_t kCount = 1 << 18;  // the pipelined ring, not recursive doubling
  std::vector<std::vector<float>> data(4, std::vector<float>(kCount, 1.0f));
  const auto started = std::chrono::steady_clock::now();
  std::vector<std::future<std::pair<Status, std::chrono::steady_clock::duration>>> calls;
  for (int r = 0; r < 4; ++r) {
    calls.push_back(std::async(std::launch::async, [&, r] {
      if (r == late) std::this_thread::sleep_for(500ms);
      Status status =
          ring[r]->allReduce(data[r].data(), data[r].data(), kCount, reduce::DType::kF32,
                             reduce::ReduceOp::kSum, 3, deadline(20s), nullptr);
      return std::make_pair(status, std::chrono::steady_clock::now() - started);
    }));
  }
  for (int r = 0; r < 4; ++r) {
    auto [status, took] = calls[r].get();
    EXPECT_FALSE(status.isOk()) << "rank " << r;
    EXPECT_LT(took, deadline(5s)) << "rank " << r
                                  << " waited for its deadline: " << status.toString();
  }
  std::vector<std::future<Status>> updates;
  for (int r = 0; r < 4; ++r)
    updates.push_back(
        std::async(std::launch::async, [&, r] { return ring[r]->updateTopology(deadline(20s)); }));
  for (auto& update : updates) {
    Status status = update.get();
    EXPECT_TRUE(status.isOk()) << status.toString();
  }
}

}  // namespace
}  // namespace eccl::test
