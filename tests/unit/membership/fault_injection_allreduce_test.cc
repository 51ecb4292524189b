// All-reduce through a data plane that flips bits (ECCL_FAULTS corrupt) with
// frame checksums on: an op either succeeds with the exact sum on every
// member, or fails on every member, which then carry on after a topology
// update. Never a silently wrong sum.
#include <gtest/gtest.h>

#include <future>

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

}  // namespace
}  // namespace eccl::test
