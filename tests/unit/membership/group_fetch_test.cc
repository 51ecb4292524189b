// A fetch of another group's shared state (fetchGroupState), end to end in
// one process: a peer of "stage-b" fetches the entries of "stage-a" (three
// members that sync round after round, each round's content a function of
// its revision) and gets exactly the bytes of the revision it reports,
// striped across the members, while their syncs keep succeeding; refusals;
// a source lost mid-fetch never yields wrong bytes, and a retry succeeds; the
// late plan of a fetch that timed out is not taken by the next fetch.
#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <cstring>
#include <future>
#include <set>
#include <thread>

#include "tests/unit/membership/inprocess_fixture.h"
#include "tests/unit/membership/state_tensors.h"

namespace eccl::test {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

// Three 3 MiB entries: each is split across the three members.
std::vector<Spec> stageSpecs() {
  return {{"layer0", 3 * kMiB / 4, reduce::DType::kF32},
          {"layer1", 3 * kMiB / 4, reduce::DType::kF32},
          {"layer2", 3 * kMiB / 4, reduce::DType::kF32}};
}

// What every member of stage-a holds at a revision.
void fillRevision(Tensors& t, uint64_t revision) {
  for (size_t e = 0; e < t.memory.size(); ++e)
    fillVariant(t.memory[e], e, revision);
  t.shared.revision = revision;
}

class GroupFetch : public InProcessCluster {
 protected:
  void SetUp() override {
    InProcessCluster::SetUp();
    if (miss_limit_ != 0) {  // the master is not used yet: start it with the test's limit
      stopMaster();
      master_options_.settings.miss_limit = miss_limit_;
      startMaster();
    }
    std::vector<comm::Communicator*> peers;
    for (int i = 0; i < 3; ++i)
      peers.push_back(&addPeer("stage-a"));
    stage_a_ = rankedRing(peers);
    for (size_t i = 0; i < stage_a_.size(); ++i)
      tensors_.push_back(makeTensors(stageSpecs(), 0));
    fetcher_ = &addPeer("stage-b", fetcher_hook_);
    ASSERT_TRUE(fetcher_->connect(deadline(10s)).isOk());
  }
  void TearDown() override {
    stopSyncing();
    InProcessCluster::TearDown();
  }

  // Stage-a's training loop: a sync per round, each at revision + 1 with
  // that revision's content.
  void startSyncing() {
    stop_ = false;
    syncer_ = std::thread([this] {
      while (!stop_) {
        std::vector<Tensors*> all;
        for (Tensors& t : tensors_) {
          fillRevision(t, t.shared.revision + 1);
          all.push_back(&t);
        }
        for (const SyncOutcome& o : syncAll(stage_a_, all)) {
          if (o.status.isOk()) {
            ++syncs_ok_;
          } else {
            ++syncs_failed_;
            ADD_FAILURE() << "stage-a sync: " << o.status.toString();
          }
        }
        std::this_thread::sleep_for(20ms);
      }
    });
  }
  void stopSyncing() {
    stop_ = true;
    if (syncer_.joinable()) syncer_.join();
  }

  // Runs the fetch while recording which stage-a members were seen serving.
  SyncOutcome fetchWatching(Tensors& into, uint64_t bytes_per_s, std::set<size_t>* served) {
    auto fetching = std::async(std::launch::async, [&] {
      SyncOutcome out;
      out.status =
          fetcher_->fetchGroupState("stage-a", into.shared, bytes_per_s, deadline(30s), &out.info);
      return out;
    });
    while (fetching.wait_for(5ms) != std::future_status::ready) {
      for (size_t i = 0; i < stage_a_.size(); ++i) {
        if (served != nullptr && stage_a_[i]->fetchesServing() > 0) served->insert(i);
      }
    }
    return fetching.get();
  }

  // Every entry holds exactly stage-a's bytes of the reported revision.
  static void expectRevisionBytes(Tensors& fetched, uint64_t revision) {
    Tensors expected = makeTensors(stageSpecs(), 0);
    fillRevision(expected, revision);
    for (size_t e = 0; e < expected.memory.size(); ++e) {
      ASSERT_EQ(fetched.memory[e].size(), expected.memory[e].size());
      EXPECT_EQ(std::memcmp(fetched.memory[e].data(), expected.memory[e].data(),
                            expected.memory[e].size()),
                0)
          << "entry " << e << " at revision " << revision;
    }
  }

  // Set by a derived fixture's constructor: the master's heartbeat miss
  // limit (0: the cluster's), the fetcher's fault hook.
  uint16_t miss_limit_ = 0;
  comm::FaultHook fetcher_hook_;
  std::vector<comm::Communicator*> stage_a_;
  std::vector<Tensors> tensors_;
  comm::Communicator* fetcher_ = nullptr;
  std::thread syncer_;
  std::atomic<bool> stop_{false};
  std::atomic<int> syncs_ok_{0};
  std::atomic<int> syncs_failed_{0};
};

TEST_F(GroupFetch, ThePeerOfAnotherGroupGetsTheExactBytesStripedWhileTheGroupSyncs) {
  startSyncing();
  Tensors fetched = makeTensors(stageSpecs(), 1'000'099);
  std::set<size_t> served;
  const auto started = std::chrono::steady_clock::now();
  // 9 MiB at 9 MB/s: about a second, long enough to see the sources at work.
  SyncOutcome out = fetchWatching(fetched, 9'000'000, &served);
  const int syncs_during = syncs_ok_.load();
  ASSERT_TRUE(out.status.isOk()) << out.status.toString();
  EXPECT_LT(std::chrono::steady_clock::now() - started, deadline(20s));
  EXPECT_GT(out.info.revision, 0u);
  EXPECT_EQ(fetched.shared.revision, out.info.revision);
  expectRevisionBytes(fetched, out.info.revision);
  EXPECT_EQ(out.info.bytes_received, 9 * kMiB);
  EXPECT_EQ(out.info.entries_fixed, 3u);
  EXPECT_EQ(out.info.rounds, 1u);
  EXPECT_GE(served.size(), 2u) << "striped over several sources";
  // Stage-a kept syncing during and after the fetch; the fetcher stayed out of it.
  std::this_thread::sleep_for(200ms);
  EXPECT_GT(syncs_ok_.load(), syncs_during);
  stopSyncing();
  EXPECT_EQ(syncs_failed_.load(), 0);
  EXPECT_EQ(stage_a_[0]->worldSize(), 3);
  EXPECT_EQ(stage_a_[0]->peersPending(), 0);
  EXPECT_EQ(fetcher_->group(), "stage-b");
  EXPECT_EQ(fetcher_->worldSize(), 1);
}

TEST_F(GroupFetch, RefusalsAreImmediateAndClear) {
  Tensors fetched = makeTensors(stageSpecs(), 1'000'099);
  auto fetch = [&](comm::Communicator& peer, const std::string& group, Tensors& t) {
    return peer.fetchGroupState(group, t.shared, 0, deadline(10s), nullptr);
  };
  const auto started = std::chrono::steady_clock::now();
  Status unknown = fetch(*fetcher_, "stage-x", fetched);
  EXPECT_EQ(unknown.code(), Code::kInvalidArgument) << unknown.toString();
  EXPECT_NE(unknown.message().find("no group 'stage-x'"), std::string::npos);
  Status own = fetch(*fetcher_, "stage-b", fetched);
  EXPECT_EQ(own.code(), Code::kInvalidUsage) << own.toString();
  comm::Communicator& unconnected = addPeer("stage-c");
  Status not_connected = fetch(unconnected, "stage-a", fetched);
  EXPECT_EQ(not_connected.code(), Code::kInvalidUsage) << not_connected.toString();
  EXPECT_EQ(fetch(*fetcher_, "", fetched).code(), Code::kInvalidArgument);
  EXPECT_LT(std::chrono::steady_clock::now() - started, deadline(3s)) << "no sync awaited";

  // A second fetch while one waits for stage-a's sync; then entries of another shape.
  auto first = std::async(std::launch::async, [&] {
    SyncOutcome out;
    out.status = fetcher_->fetchGroupState("stage-a", fetched.shared, 0, deadline(20s), &out.info);
    return out;
  });
  std::this_thread::sleep_for(200ms);
  Tensors other = makeTensors(stageSpecs(), 1'000'098);
  Status second = fetch(*fetcher_, "stage-a", other);
  EXPECT_EQ(second.code(), Code::kInvalidUsage) << second.toString();
  EXPECT_NE(second.message().find("another fetch"), std::string::npos);
  startSyncing();
  SyncOutcome done = first.get();
  ASSERT_TRUE(done.status.isOk()) << done.status.toString();
  expectRevisionBytes(fetched, done.info.revision);

  std::vector<Spec> wrong = stageSpecs();
  wrong[1].count += 1;
  Tensors mismatched = makeTensors(wrong, 1'000'098);
  Status shapes = fetch(*fetcher_, "stage-a", mismatched);
  EXPECT_EQ(shapes.code(), Code::kInvalidUsage) << shapes.toString();
  EXPECT_NE(shapes.message().find("'layer1'"), std::string::npos) << shapes.toString();
  stopSyncing();
  EXPECT_EQ(syncs_failed_.load(), 0);
}

TEST_F(GroupFetch, AGroupThatLosesItsLastMemberEndsTheWait) {
  comm::Communicator& lone = addPeer("stage-c");
  ASSERT_TRUE(lone.connect(deadline(10s)).isOk());
  Tensors fetched = makeTensors(stageSpecs(), 1'000'099);
  auto waiting = std::async(std::launch::async, [&] {
    return fetcher_->fetchGroupState("stage-c", fetched.shared, 0, deadline(20s), nullptr);
  });
  std::this_thread::sleep_for(200ms);
  std::erase_if(peers_, [&](const auto& p) { return p.get() == &lone; });
  ASSERT_EQ(waiting.wait_for(deadline(10s)), std::future_status::ready);
  Status lost = waiting.get();
  EXPECT_EQ(lost.code(), Code::kPeerLost) << lost.toString();
}

TEST_F(GroupFetch, ASourceLostMidFetchNeverGivesWrongBytesAndARetrySucceeds) {
  startSyncing();
  Tensors fetched = makeTensors(stageSpecs(), 1'000'099);
  // 9 MiB at 3 MB/s: about 3 s; the last member goes once all three serve.
  auto fetching = std::async(std::launch::async, [&] {
    SyncOutcome out;
    out.status =
        fetcher_->fetchGroupState("stage-a", fetched.shared, 3'000'000, deadline(30s), &out.info);
    return out;
  });
  const auto until = std::chrono::steady_clock::now() + deadline(20s);
  while (stage_a_[2]->fetchesServing() == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(5ms);
  stopSyncing();
  ASSERT_GT(stage_a_[2]->fetchesServing(), 0);
  comm::Communicator* gone = stage_a_[2];
  gone->abort("a test kills this source");
  SyncOutcome out = fetching.get();
  if (out.status.isOk()) {
    expectRevisionBytes(fetched, out.info.revision);
  } else {
    EXPECT_EQ(out.status.code(), Code::kPeerLost) << out.status.toString();
    EXPECT_NE(out.status.message().find("did not arrive (a source was lost); fetch again"),
              std::string::npos)
        << out.status.toString();
  }
  // The survivors drop the lost member and go on; the retry gets everything.
  std::erase_if(peers_, [&](const auto& p) { return p.get() == gone; });
  stage_a_.pop_back();
  tensors_.pop_back();
  std::vector<std::future<Status>> updates;
  for (auto* peer : stage_a_) {
    updates.push_back(
        std::async(std::launch::async, [peer] { return peer->updateTopology(deadline(20s)); }));
  }
  for (auto& u : updates)
    ASSERT_TRUE(u.get().isOk());
  startSyncing();
  Tensors retried = makeTensors(stageSpecs(), 1'000'097);
  SyncOutcome again = fetchWatching(retried, 0, nullptr);
  ASSERT_TRUE(again.status.isOk()) << again.status.toString();
  expectRevisionBytes(retried, again.info.revision);
  EXPECT_EQ(again.info.bytes_received, 9 * kMiB);
  stopSyncing();
}

// The fetcher's control thread holds the first fetch plan it gets until the
// comm's second fetch has sent its request: the plan of the first fetch (it
// times out meanwhile) arrives while the second one runs, as it does when
// the master sent the plan before it saw the first fetch's StateFetchDone.
class GroupFetchLatePlan : public GroupFetch {
 protected:
  GroupFetchLatePlan() {
    // The held control thread sends no heartbeats meanwhile.
    miss_limit_ = static_cast<uint16_t>(deadline(60s) / 100ms);
    fetcher_hook_ = [this](std::string_view point, const EndpointId&) {
      std::unique_lock lock(hook_mu_);
      if (point == "group-fetch-requested") {
        ++requests_;
        hook_cv_.notify_all();
      } else if (point == "fetch-plan" && ++plans_ == 1) {
        held_ = true;
        hook_cv_.notify_all();
        hook_cv_.wait_for(lock, deadline(60s), [&] { return requests_ >= 2 || release_; });
      }
    };
  }
  void TearDown() override {
    {
      std::lock_guard lock(hook_mu_);
      release_ = true;
      hook_cv_.notify_all();
    }
    GroupFetch::TearDown();
  }

  std::mutex hook_mu_;
  std::condition_variable hook_cv_;
  int requests_ = 0;  // fetches that sent their request
  int plans_ = 0;     // fetch plans for the fetcher that arrived
  bool held_ = false;
  bool release_ = false;
};

TEST_F(GroupFetchLatePlan, AFetchThatTimedOutLeavesItsLatePlanToNobody) {
  // Stage-c: another group of the same entries, whose content at a revision
  // is never stage-a's (its revisions start at 1000).
  std::vector<comm::Communicator*> stage_c{&addPeer("stage-c")};
  ASSERT_TRUE(stage_c[0]->connect(deadline(10s)).isOk());
  Tensors c_tensors = makeTensors(stageSpecs(), 0);
  fillRevision(c_tensors, 1000);

  // Fetch 1 of stage-a; stage-a syncs until the plan of fetch 1 reached the
  // fetcher (a sync before the request reached the master plans nothing).
  Tensors fetched = makeTensors(stageSpecs(), 1'000'099);
  auto first = std::async(std::launch::async, [&] {
    return fetcher_->fetchGroupState("stage-a", fetched.shared, 0, deadline(3s), nullptr);
  });
  const auto until = std::chrono::steady_clock::now() + deadline(2s);
  for (bool held = false; !held && std::chrono::steady_clock::now() < until;) {
    std::vector<Tensors*> all;
    for (Tensors& t : tensors_) {
      fillRevision(t, t.shared.revision + 1);
      all.push_back(&t);
    }
    for (const SyncOutcome& o : syncAll(stage_a_, all))
      ASSERT_TRUE(o.status.isOk()) << o.status.toString();
    std::unique_lock lock(hook_mu_);
    held = hook_cv_.wait_for(lock, 50ms, [&] { return held_; });
  }
  {
    std::lock_guard lock(hook_mu_);
    ASSERT_TRUE(held_) << "stage-a's syncs did not plan fetch 1 in time";
  }
  // Its plan is held on the way: fetch 1 times out and ends.
  Status timed_out = first.get();
  EXPECT_EQ(timed_out.code(), Code::kTimeout) << timed_out.toString();
  const uint64_t a_revision = tensors_[0].shared.revision;

  // Fetch 2, of stage-c: its request releases fetch 1's plan (stage-a's, of
  // an earlier sync), which must not become fetch 2's.
  std::atomic<bool> stop{false};
  std::atomic<int> c_syncs{0};
  std::thread c_syncer([&] {
    while (!stop) {
      fillRevision(c_tensors, c_tensors.shared.revision + 1);
      Status synced = stage_c[0]->syncSharedState(
          c_tensors.shared, state::SyncStrategy::kEnforcePopular, deadline(20s), nullptr);
      if (synced.isOk()) {
        ++c_syncs;
      } else {
        ADD_FAILURE() << "stage-c sync: " << synced.toString();
      }
      std::this_thread::sleep_for(20ms);
    }
  });
  Tensors second = makeTensors(stageSpecs(), 1'000'098);
  SyncOutcome out;
  out.status = fetcher_->fetchGroupState("stage-c", second.shared, 0, deadline(30s), &out.info);
  stop = true;
  c_syncer.join();
  {
    std::lock_guard lock(hook_mu_);
    EXPECT_EQ(requests_, 2);
    EXPECT_GE(plans_, 2) << "fetch 1's plan, then fetch 2's";
  }
  ASSERT_TRUE(out.status.isOk()) << out.status.toString();
  EXPECT_GT(c_syncs.load(), 0);
  EXPECT_GT(out.info.revision, 1000u)
      << "a stage-c snapshot, not stage-a's (revision " << a_revision << ")";
  EXPECT_EQ(second.shared.revision, out.info.revision);
  expectRevisionBytes(second, out.info.revision);
  EXPECT_EQ(out.info.bytes_received, 9 * kMiB);

  // The comm goes on: a third fetch, of stage-a, gets stage-a's next sync.
  startSyncing();
  Tensors third = makeTensors(stageSpecs(), 1'000'097);
  SyncOutcome again = fetchWatching(third, 0, nullptr);
  stopSyncing();
  ASSERT_TRUE(again.status.isOk()) << again.status.toString();
  EXPECT_GT(again.info.revision, a_revision);
  EXPECT_LT(again.info.revision, 1000u);
  expectRevisionBytes(third, again.info.revision);
}

}  // namespace
}  // namespace eccl::test
