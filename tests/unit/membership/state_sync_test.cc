// ecclSyncSharedState end to end in one process: a master and communicators
// over loopback. Entries of every dtype, a flipped bit, majorities, ties,
// SEND_ONLY and RECEIVE_ONLY peers, the revision rules, shape mismatches, and
// a holder that fails while it serves.
#include <gtest/gtest.h>

#include <future>

#include "src/state/content_hash.h"
#include "tests/unit/membership/inprocess_fixture.h"
#include "tests/unit/membership/state_tensors.h"
#include "transport/fault_spec.h"

namespace eccl::test {
namespace {

using state::SyncStrategy;

std::vector<Spec> everyDtype() {
  std::vector<Spec> specs;
  for (int d = 0; d < reduce::kNumDTypes; ++d) {
    const auto dtype = static_cast<reduce::DType>(d);
    specs.push_back({std::string("w.") + reduce::dtypeName(dtype), 1000 + 37 * size_t(d), dtype});
  }
  return specs;
}

class SharedStateSync : public InProcessCluster {
 protected:
  // A peer whose fault hook aborts it at "state-serve" when it is victim_.
  // faults: what its data channels inject (none by default).
  comm::Communicator& addHookedPeer(std::shared_ptr<const transport::FaultSpec> faults = nullptr) {
    return addPeer(
        "g",
        [this](std::string_view point, const EndpointId& self) {
          comm::Communicator* victim = victim_.load();
          if (point == "state-serve" && victim != nullptr && victim->peerId() == self) {
            victim->abort("the test fails this holder while it serves");
          }
        },
        std::move(faults));
  }

  std::vector<comm::Communicator*> ring(int n) {
    std::vector<comm::Communicator*> peers;
    for (int i = 0; i < n; ++i)
      peers.push_back(&addHookedPeer());
    return rankedRing(peers);
  }

  std::atomic<comm::Communicator*> victim_{nullptr};

  // Every peer syncs at once with its own strategy.
  std::vector<SyncOutcome> syncAll(const std::vector<comm::Communicator*>& peers,
                                   std::vector<Tensors>& tensors,
                                   std::vector<SyncStrategy> strategies = {}) {
    std::vector<Tensors*> each;
    for (auto& t : tensors)
      each.push_back(&t);
    return test::syncAll(peers, each, std::move(strategies));
  }
};

TEST_F(SharedStateSync, OnlyTheFlippedEntryTravelsAndEveryHashIsEqualAfter) {
  auto peers = ring(4);
  std::vector<Spec> specs;
  for (int e = 0; e < 10; ++e)
    specs.push_back({"layer" + std::to_string(e), 4096, reduce::DType::kF32});
  std::vector<Tensors> tensors;
  for (int i = 0; i < 4; ++i)
    tensors.push_back(makeTensors(specs, 1, 5));
  tensors[2].bytes(3)[777] ^= 0x10;  // one bit of one entry on one peer
  const auto popular = tensors[0].hashes();

  auto outcomes = syncAll(peers, tensors);
  for (size_t i = 0; i < 4; ++i) {
    ASSERT_TRUE(outcomes[i].status.isOk()) << i << ": " << outcomes[i].status.toString();
    EXPECT_EQ(tensors[i].hashes(), popular) << "peer " << i;
    EXPECT_EQ(tensors[i].shared.revision, 5u);
    EXPECT_EQ(outcomes[i].info.revision, 5u);
  }
  EXPECT_EQ(outcomes[2].info.entries_fixed, 1u);
  EXPECT_EQ(outcomes[2].info.bytes_received, 4096u * 4);  // that entry, nothing else
  uint64_t served = 0;
  for (size_t i : {0, 1, 3}) {
    EXPECT_EQ(outcomes[i].info.entries_fixed, 0u);
    EXPECT_EQ(outcomes[i].info.bytes_received, 0u);
    served += outcomes[i].info.bytes_sent;
  }
  EXPECT_EQ(served, 4096u * 4);
}

TEST_F(SharedStateSync, EveryDtypeReachesAReceiveOnlyPeerAndRevisionsMoveByOne) {
  auto peers = ring(3);
  const auto specs = everyDtype();
  std::vector<Tensors> tensors;
  tensors.push_back(makeTensors(specs, 7, 1));
  tensors.push_back(makeTensors(specs, 7, 1));
  tensors.push_back(makeTensors(specs, 99, 0));  // a fresh joiner: other bytes, revision 0
  auto outcomes = syncAll(
      peers, tensors,
      {SyncStrategy::kEnforcePopular, SyncStrategy::kEnforcePopular, SyncStrategy::kReceiveOnly});
  for (auto& o : outcomes)
    ASSERT_TRUE(o.status.isOk()) << o.status.toString();
  EXPECT_EQ(tensors[2].hashes(), tensors[0].hashes());
  EXPECT_EQ(outcomes[2].info.entries_fixed, specs.size());
  for (auto& t : tensors)
    EXPECT_EQ(t.shared.revision, 1u);

  // The next sync must present 2 everywhere; a peer that skips is named.
  for (auto& t : tensors)
    t.shared.revision = 2;
  tensors[1].shared.revision = 3;
  const auto before = tensors[0].hashes();
  tensors[2].bytes(0)[0] ^= 1;
  const auto flipped = tensors[2].hashes();
  outcomes = syncAll(peers, tensors);
  for (auto& o : outcomes) {
    EXPECT_EQ(o.status.code(), Code::kInvalidUsage) << o.status.toString();
    EXPECT_NE(o.status.message().find(peers[1]->peerId().shortHex()), std::string::npos)
        << o.status.toString();
    EXPECT_NE(o.status.message().find("must present 2"), std::string::npos) << o.status.toString();
  }
  EXPECT_EQ(tensors[2].hashes(), flipped);  // nothing was written
  EXPECT_EQ(tensors[0].hashes(), before);

  tensors[1].shared.revision = 2;
  outcomes = syncAll(peers, tensors);
  for (auto& o : outcomes)
    ASSERT_TRUE(o.status.isOk()) << o.status.toString();
  EXPECT_EQ(tensors[2].hashes(), before);
  for (auto& t : tensors)
    EXPECT_EQ(t.shared.revision, 2u);
}

TEST_F(SharedStateSync, TheMajorityWinsAThreeWayDisagreementAndATieGoesToTheLowestRank) {
  auto peers = ring(5);
  std::vector<Spec> specs = {{"a", 3000, reduce::DType::kF64}, {"b", 100, reduce::DType::kI32}};
  std::vector<Tensors> tensors;
  for (uint64_t variant : {2, 1, 1, 3, 1})
    tensors.push_back(makeTensors(specs, variant, 1));
  // Entry "b": a 2-2-1 tie between variants 5 (ranks 1, 4) and 6 (ranks 0, 2); rank 0 wins.
  const Tensors five = makeTensors(specs, 5), six = makeTensors(specs, 6);
  for (int i : {1, 4})
    std::memcpy(tensors[i].bytes(1), five.memory[1].data(), 400);
  for (int i : {0, 2})
    std::memcpy(tensors[i].bytes(1), six.memory[1].data(), 400);
  const auto majority_a = tensors[1].hashes()[0];
  const auto tie_b = tensors[0].hashes()[1];

  auto outcomes = syncAll(peers, tensors);
  for (size_t i = 0; i < 5; ++i) {
    ASSERT_TRUE(outcomes[i].status.isOk()) << outcomes[i].status.toString();
    EXPECT_EQ(tensors[i].hashes()[0], majority_a) << i;
    EXPECT_EQ(tensors[i].hashes()[1], tie_b) << i;
  }
}

TEST_F(SharedStateSync, ASendOnlyPeerOverridesTheMajorityAndSetsTheRevision) {
  auto peers = ring(3);
  std::vector<Spec> specs = {{"weights", 1 << 18, reduce::DType::kBF16}};
  std::vector<Tensors> tensors;
  tensors.push_back(makeTensors(specs, 1, 4));
  tensors.push_back(makeTensors(specs, 1, 4));
  tensors.push_back(makeTensors(specs, 8, 40));  // loaded a checkpoint
  const auto checkpoint = tensors[2].hashes();
  auto outcomes = syncAll(
      peers, tensors,
      {SyncStrategy::kEnforcePopular, SyncStrategy::kEnforcePopular, SyncStrategy::kSendOnly});
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_TRUE(outcomes[i].status.isOk()) << outcomes[i].status.toString();
    EXPECT_EQ(tensors[i].hashes(), checkpoint);
    EXPECT_EQ(tensors[i].shared.revision, 40u);
  }
}

TEST_F(SharedStateSync, EntriesThatDifferInShapeFailEveryPeerNamingTheEntryAndWriteNothing) {
  auto peers = ring(3);
  std::vector<Spec> specs = {{"bias", 64, reduce::DType::kF32}, {"step", 1, reduce::DType::kI64}};
  std::vector<Tensors> tensors;
  tensors.push_back(makeTensors(specs, 1));
  tensors.push_back(makeTensors(specs, 2));
  tensors.push_back(makeTensors({{"bias", 65, reduce::DType::kF32}, specs[1]}, 3));
  std::vector<std::vector<state::Hash128>> before;
  for (auto& t : tensors)
    before.push_back(t.hashes());
  auto outcomes = syncAll(peers, tensors);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(outcomes[i].status.code(), Code::kInvalidUsage) << outcomes[i].status.toString();
    EXPECT_NE(outcomes[i].status.message().find("'bias'"), std::string::npos);
    EXPECT_NE(outcomes[i].status.message().find(peers[2]->peerId().shortHex()), std::string::npos)
        << outcomes[i].status.toString();
    EXPECT_EQ(tensors[i].hashes(), before[i]);
  }
  // A missing entry is named too; then a good sync works on the same ring.
  tensors[2] = makeTensors({specs[0]}, 3);
  outcomes = syncAll(peers, tensors);
  EXPECT_NE(outcomes[0].status.message().find("'step' is on"), std::string::npos)
      << outcomes[0].status.toString();
  tensors[2] = makeTensors(specs, 3);
  outcomes = syncAll(peers, tensors);
  for (auto& o : outcomes)
    ASSERT_TRUE(o.status.isOk()) << o.status.toString();
}

TEST_F(SharedStateSync, ALargeEntryComesFromEveryHolderAtOnce) {
  auto peers = ring(4);
  std::vector<Spec> specs = {{"big", 8 << 20, reduce::DType::kF32}};  // 32 MiB
  std::vector<Tensors> tensors;
  for (int i = 0; i < 3; ++i)
    tensors.push_back(makeTensors(specs, 1));
  tensors.push_back(makeTensors(specs, 2));
  auto outcomes = syncAll(peers, tensors,
                          {SyncStrategy::kEnforcePopular, SyncStrategy::kEnforcePopular,
                           SyncStrategy::kEnforcePopular, SyncStrategy::kReceiveOnly});
  for (auto& o : outcomes)
    ASSERT_TRUE(o.status.isOk()) << o.status.toString();
  EXPECT_EQ(tensors[3].hashes(), tensors[0].hashes());
  EXPECT_EQ(outcomes[3].info.bytes_received, 32u << 20);
  for (int i = 0; i < 3; ++i)
    EXPECT_GT(outcomes[i].info.bytes_sent, 8u << 20) << i;
}

TEST_F(SharedStateSync, ACompressibleEntryTravelsAsZstdPiecesAndArrivesExact) {
  // A master that takes the link for 1 MB/s: zstd pays off whatever the machine's speed.
  stopMaster();
  master_options_.settings.state_link_bytes_per_s = 1e6;
  startMaster();
  auto peers = ring(3);
  // "moments": 9 MiB + 4 B of mostly zeros (zstd pieces, the last one short);
  // "weights": random bytes (sent raw).
  std::vector<Spec> specs = {{"moments", (9 << 20) / 4 + 1, reduce::DType::kF32},
                             {"weights", 1 << 20, reduce::DType::kF32}};
  std::vector<Tensors> tensors;
  for (int i = 0; i < 3; ++i)
    tensors.push_back(makeTensors(specs, i < 2 ? 1 : 2, i < 2 ? 1 : 0));
  for (int i = 0; i < 2; ++i) {
    auto& moments = tensors[i].memory[0];
    for (size_t b = 0; b < moments.size(); ++b)
      moments[b] = b % 1009 == 0 ? uint8_t(b) : 0;
  }
  auto outcomes = syncAll(
      peers, tensors,
      {SyncStrategy::kEnforcePopular, SyncStrategy::kEnforcePopular, SyncStrategy::kReceiveOnly});
  for (auto& o : outcomes)
    ASSERT_TRUE(o.status.isOk()) << o.status.toString();
  EXPECT_EQ(tensors[2].hashes(), tensors[0].hashes());
  const uint64_t moments = tensors[0].memory[0].size(), weights = tensors[0].memory[1].size();
  EXPECT_EQ(outcomes[2].info.bytes_received, moments + weights);
  // The weights' bytes as they are, the moments' in a small fraction of theirs.
  EXPECT_GT(outcomes[2].info.wire_bytes_received, weights);
  EXPECT_LT(outcomes[2].info.wire_bytes_received, weights + moments / 10);
  EXPECT_EQ(outcomes[0].info.wire_bytes_sent + outcomes[1].info.wire_bytes_sent,
            outcomes[2].info.wire_bytes_received);
}

TEST_F(SharedStateSync, AHolderThatFailsWhileServingIsReplacedByAnother) {
  // The victim's fault hook aborts it at "state-serve", just after it posts
  // its sends; its data channels hold every write for 20 ms, so the abort
  // comes before its ranges can all arrive (without the hold they sometimes
  // did, and one round was enough). The receiver gets them from the other
  // holders in a second round.
  auto held = std::make_shared<const transport::FaultSpec>(
      transport::FaultSpec{.delay_p = 1.0, .delay = 20ms});
  comm::Communicator& victim = addHookedPeer(held);
  auto peers = rankedRing({&victim, &addHookedPeer(), &addHookedPeer(), &addHookedPeer()});
  // The receiver is the peer after the victim; every other peer holds the popular copy.
  const size_t v = static_cast<size_t>(victim.rank()), r = (v + 1) % 4;
  std::vector<Spec> specs = {{"big", 4 << 20, reduce::DType::kF32}};
  std::vector<Tensors> tensors;
  std::vector<SyncStrategy> strategies;
  for (size_t i = 0; i < 4; ++i) {
    tensors.push_back(i == r ? makeTensors(specs, 2, 0) : makeTensors(specs, 1, 1));
    strategies.push_back(i == r ? SyncStrategy::kReceiveOnly : SyncStrategy::kEnforcePopular);
  }
  victim_ = &victim;
  auto outcomes = syncAll(peers, tensors, strategies);
  EXPECT_EQ(outcomes[v].status.code(), Code::kAborted) << outcomes[v].status.toString();
  for (size_t i = 0; i < 4; ++i) {
    if (i == v) continue;
    ASSERT_TRUE(outcomes[i].status.isOk()) << i << ": " << outcomes[i].status.toString();
  }
  EXPECT_EQ(tensors[r].hashes(), tensors[(r + 1) % 4].hashes());
  EXPECT_GE(outcomes[r].info.rounds, 2u);
  EXPECT_EQ(outcomes[r].info.bytes_received, 16u << 20);  // what arrived: no range twice
}

}  // namespace
}  // namespace eccl::test
