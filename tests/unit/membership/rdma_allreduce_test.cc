// All-reduce with every data connection on an RDMA queue pair of the
// in-process loopback fabric (tests/support/loopback_queue_pairs.h): exact
// sums on every peer; a peer aborted in the middle of an op leaves the
// survivors agreed on its outcome within the detection bound, and they carry
// on without it, still over RDMA.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "tests/support/loopback_queue_pairs.h"
#include "tests/unit/membership/inprocess_fixture.h"

namespace eccl::test {
namespace {

class RdmaAllReduce : public InProcessCluster {
 protected:
  comm::Communicator& addRdmaPeer(comm::FaultHook hook = comm::FaultHook()) {
    comm::CommOptions options = peerOptions("g");
    options.fault_hook = std::move(hook);
    options.channel.transport = transport::TransportChoice::kRdma;
    options.channel.transport_from_environment = false;
    options.channel.rdma_queue_pairs = fabric_;
    options.channel.rdma_ring_bytes = 256 << 10;
    return addPeerWith(options);
  }

  // Every peer of `ring` all-reduces its own values (rank + 1, then index
  // dependent); the status of each, in ring order.
  std::vector<Status> allReduce(const std::vector<comm::Communicator*>& ring, size_t count,
                                std::vector<std::vector<float>>& data, uint64_t tag,
                                std::chrono::milliseconds timeout = 20s) {
    data.assign(ring.size(), std::vector<float>(count));
    for (size_t r = 0; r < ring.size(); ++r)
      for (size_t i = 0; i < count; ++i)
        data[r][i] = static_cast<float>((r + 1) * (i % 5 + 1));
    std::vector<std::future<Status>> calls;
    for (size_t r = 0; r < ring.size(); ++r) {
      calls.push_back(std::async(std::launch::async, [&, r] {
        return ring[r]->allReduce(data[r].data(), data[r].data(), count, reduce::DType::kF32,
                                  reduce::ReduceOp::kSum, tag, deadline(timeout), nullptr);
      }));
    }
    std::vector<Status> results;
    for (auto& call : calls)
      results.push_back(call.get());
    return results;
  }

  static void expectExactSums(const std::vector<std::vector<float>>& data, size_t peers) {
    const float ranks = static_cast<float>(peers * (peers + 1) / 2);
    for (size_t r = 0; r < data.size(); ++r)
      for (size_t i = 0; i < data[r].size(); ++i)
        ASSERT_EQ(data[r][i], ranks * static_cast<float>(i % 5 + 1)) << "rank " << r << " " << i;
  }

  std::shared_ptr<LoopbackFabric> fabric_ = LoopbackFabric::make();
  std::atomic<comm::Communicator*> victim_{nullptr};
};

TEST_F(RdmaAllReduce, EverySizeSumsExactlyOnEveryPeer) {
  auto ring = rankedRing({&addRdmaPeer(), &addRdmaPeer(), &addRdmaPeer(), &addRdmaPeer()});
  std::vector<std::vector<float>> data;
  uint64_t tag = 1;
  for (size_t count : {size_t{1}, size_t{1001}, size_t{(4 << 20) + 3}}) {
    for (const Status& status : allReduce(ring, count, data, tag++))
      ASSERT_TRUE(status.isOk()) << count << ": " << status.toString();
    expectExactSums(data, 4);
  }
  // The ring's channels are on queue pairs of the fabric: kRdma has no shared
  // memory, and a connection left on TCP makes none.
  EXPECT_GT(fabric_->live(), 0u);
}

TEST_F(RdmaAllReduce, APeerAbortedMidOpLeavesTheSurvivorsAgreedAndGoingOn) {
  // The victim aborts itself as soon as its own data is complete: the
  // others may still be sending to it, and none has finished its lap.
  std::vector<comm::Communicator*> peers;
  for (int i = 0; i < 4; ++i)
    peers.push_back(&addRdmaPeer([this](std::string_view point, const EndpointId& self) {
      comm::Communicator* victim = victim_.load();
      if (point == "data-complete" && victim != nullptr && victim->peerId() == self) {
        victim->abort("the test aborts this peer in the middle of an op");
      }
    }));
  auto ring = rankedRing(peers);
  comm::Communicator* victim = ring[2];
  victim_ = victim;
  std::vector<std::vector<float>> data;
  const auto started = std::chrono::steady_clock::now();
  const std::vector<Status> results = allReduce(ring, size_t{4} << 20, data, 7);
  EXPECT_LT(std::chrono::steady_clock::now() - started, deadline(5s));
  EXPECT_EQ(results[2].code(), Code::kAborted) << results[2].toString();
  // Every survivor succeeds with the exact sum, or every survivor fails.
  const bool succeeded = results[0].isOk();
  for (int r : {0, 1, 3}) {
    ASSERT_EQ(results[r].isOk(), succeeded) << "rank " << r << ": " << results[r].toString();
    if (succeeded) {
      for (size_t i = 0; i < data[r].size(); ++i)
        ASSERT_EQ(data[r][i], 10.0f * static_cast<float>(i % 5 + 1)) << "rank " << r;
    }
  }
  std::vector<comm::Communicator*> survivors;
  for (auto* peer : ring)
    if (peer != victim) survivors.push_back(peer);
  std::vector<std::future<Status>> updates;
  for (auto* peer : survivors)
    updates.push_back(
        std::async(std::launch::async, [peer] { return peer->updateTopology(deadline(20s)); }));
  for (auto& update : updates) {
    Status status = update.get();
    ASSERT_TRUE(status.isOk()) << status.toString();
  }
  std::sort(survivors.begin(), survivors.end(),
            [](auto* a, auto* b) { return a->rank() < b->rank(); });
  std::vector<std::vector<float>> after;
  for (const Status& status : allReduce(survivors, 100003, after, 8))
    ASSERT_TRUE(status.isOk()) << status.toString();
  expectExactSums(after, 3);
}

}  // namespace
}  // namespace eccl::test
