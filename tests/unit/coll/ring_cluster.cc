#include "tests/unit/coll/ring_cluster.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <utility>

#include "tests/support/admission.h"
#include "tests/support/test_env.h"
#include "tests/unit/coll/peer_threads.h"

namespace eccl::test {

using namespace std::chrono_literals;

RingCluster::RingCluster(coll::CollOptions options, comm::FaultHook fault_hook)
    : coll_options_(options), fault_hook_(std::move(fault_hook)) {
  membership::MasterOptions master;
  master.listen_host = "127.0.0.1";
  master.settings.heartbeat = 100ms;
  master.settings.miss_limit = 4;
  master.settings.channel_setup_timeout = deadline(5s);
  master.settings.token_key = membership::randomTokenKey();
  auto created = membership::MasterServer::create(master);
  EXPECT_TRUE(created) << created.status().toString();
  if (!created) return;
  master_ = std::move(*created);
  master_thread_ = std::thread([this] { EXPECT_TRUE(master_->run().isOk()); });
}

RingCluster::~RingCluster() {
  by_rank_.clear();
  peers_.clear();
  if (master_) {
    master_->stop();
    master_thread_.join();
  }
}

void RingCluster::grow(int n) {
  ASSERT_TRUE(master_);
  std::vector<comm::Communicator*> joiners;
  for (int i = 0; i < n; ++i) {
    comm::CommOptions options;
    options.master_host = "127.0.0.1";
    options.master_port = master_->port();
    options.group = "coll";
    options.listen_host = "127.0.0.1";
    options.channel.connections = 2;
    options.collectives = coll_options_;
    options.fault_hook = fault_hook_;
    auto comm = comm::Communicator::create(options);
    ASSERT_TRUE(comm) << comm.status().toString();
    joiners.push_back(comm->get());
    peers_.push_back(std::move(*comm));
  }
  std::vector<comm::Communicator*> accepted = by_rank_;
  if (accepted.empty()) {  // the first peer forms the ring alone
    ASSERT_TRUE(joiners[0]->connect(deadline(10s)).isOk());
    accepted.push_back(joiners[0]);
    joiners.erase(joiners.begin());
  }
  admit(accepted, joiners, deadline(10s));
  sortByRank();
}

void RingCluster::sortByRank() {
  by_rank_.clear();
  for (auto& p : peers_)
    by_rank_.push_back(p.get());
  std::sort(by_rank_.begin(), by_rank_.end(),
            [](auto* a, auto* b) { return a->rank() < b->rank(); });
  for (size_t r = 0; r < by_rank_.size(); ++r) {
    EXPECT_EQ(by_rank_[r]->rank(), static_cast<int>(r));
    EXPECT_EQ(by_rank_[r]->worldSize(), static_cast<int>(by_rank_.size()));
  }
}

void RingCluster::destroy(int rank) {
  comm::Communicator* victim = by_rank_.at(static_cast<size_t>(rank));
  by_rank_.erase(by_rank_.begin() + rank);
  auto it =
      std::find_if(peers_.begin(), peers_.end(), [&](const auto& p) { return p.get() == victim; });
  peers_.erase(it);
}

void RingCluster::update() {
  std::vector<std::future<Status>> updates;
  for (auto& p : peers_) {
    auto* peer = p.get();
    updates.push_back(
        std::async(std::launch::async, [peer] { return peer->updateTopology(deadline(10s)); }));
  }
  for (auto& update : updates) {
    Status s = update.get();
    EXPECT_TRUE(s.isOk()) << s.toString();
  }
  sortByRank();
}

std::vector<Status> RingCluster::runEach(const std::function<Status(int rank)>& fn,
                                         std::vector<int> ranks) {
  return runOnRanks(size(), fn, std::move(ranks));
}

void expectSumWorks(RingCluster& cluster, size_t count, uint64_t tag) {
  const int n = cluster.size();
  std::vector<std::vector<int32_t>> data(static_cast<size_t>(n));
  auto statuses = cluster.runEach([&](int r) {
    auto& d = data[static_cast<size_t>(r)];
    d.resize(count);
    for (size_t i = 0; i < count; ++i)
      d[i] = r * 1000 + static_cast<int32_t>(i);
    return cluster.peer(r).allReduce(d.data(), d.data(), count, reduce::DType::kI32,
                                     reduce::ReduceOp::kSum, tag, deadline(10s), nullptr);
  });
  const int32_t rank_sum = 1000 * n * (n - 1) / 2;
  for (int r = 0; r < n; ++r) {
    ASSERT_TRUE(statuses[static_cast<size_t>(r)].isOk())
        << statuses[static_cast<size_t>(r)].toString();
    for (size_t i = 0; i < count; ++i)
      ASSERT_EQ(data[static_cast<size_t>(r)][i], rank_sum + n * static_cast<int32_t>(i)) << i;
  }
}

}  // namespace eccl::test
