// The master's shared-state sync bookkeeping (state_sync_arbiter.h), driven
// directly: votes, the plans of each transfer round and who gets them,
// retries from other holders after failed or bad transfers, departures, and
// the final plan every member receives.
#include "src/membership/state_sync_arbiter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "src/reduce/reduce.h"
#include "src/state/shared_state.h"

namespace eccl::membership {
namespace {

using protocol::PlanKind;
using protocol::StateDone;
using protocol::StateEntrySummary;
using protocol::StateExpectation;
using protocol::StateHash;
using protocol::StatePlan;
using protocol::StateTransfer;
using protocol::StateVote;
using state::SyncStrategy;

constexpr uint64_t kMiB = uint64_t{1} << 20;

EndpointId id(uint8_t fill) {
  EndpointId out;
  out.bytes.fill(fill);
  return out;
}

std::vector<EndpointId> ids(std::initializer_list<uint8_t> fills) {
  std::vector<EndpointId> out;
  for (uint8_t fill : fills)
    out.push_back(id(fill));
  return out;
}

StateHash hash(uint8_t fill) {
  StateHash out;
  out.fill(fill);
  return out;
}

// An f32 entry of `bytes` bytes with content `content`.
StateEntrySummary entry(std::string name, uint64_t bytes, uint8_t content) {
  StateEntrySummary out;
  out.name = std::move(name);
  out.count = bytes / 4;
  out.dtype = static_cast<uint8_t>(reduce::DType::kF32);
  out.hash = hash(content);
  return out;
}

StateTransfer transfer(uint32_t transfer_id, uint32_t entry_index, uint64_t offset, uint64_t bytes,
                       uint8_t from, uint8_t to) {
  return {transfer_id, entry_index, offset, bytes, id(from), id(to)};
}

class StateSyncArbiterTest : public ::testing::Test {
 protected:
  static constexpr uint64_t kGroupRevision = 7;

  StateSyncArbiter arbiter_;
  std::vector<EndpointId> members_ = ids({1, 2, 3});
  std::vector<StateSyncArbiter::Message> out_;

  StateVote vote(uint64_t revision, std::vector<StateEntrySummary> entries,
                 SyncStrategy strategy = SyncStrategy::kEnforcePopular) const {
    StateVote v;
    v.group_revision = kGroupRevision;
    v.state_revision = revision;
    v.strategy = static_cast<uint8_t>(strategy);
    v.entries = std::move(entries);
    return v;
  }
  Status cast(uint8_t peer, const StateVote& v, uint64_t group_revision = kGroupRevision) {
    return arbiter_.onVote(id(peer), v, group_revision, members_, out_);
  }
  Status done(uint8_t peer, uint64_t sync, uint32_t round, std::vector<uint32_t> failed = {},
              std::vector<uint32_t> bad = {}, std::string reason = "") {
    StateDone d;
    d.sync = sync;
    d.round = round;
    d.failed_transfers = std::move(failed);
    d.bad_entries = std::move(bad);
    d.reason = std::move(reason);
    return arbiter_.onDone(id(peer), d, members_, out_);
  }
  void gone(uint8_t peer) {
    std::erase(members_, id(peer));
    arbiter_.onMemberGone(id(peer), members_, out_);
  }
  // The recipients of what was sent since the last take(), in order.
  std::vector<EndpointId> recipients() const {
    std::vector<EndpointId> out;
    for (const auto& m : out_)
      out.push_back(m.to);
    return out;
  }
  // The one plan sent to `peer` (empty kRound plan and a failure when there is none).
  StatePlan planFor(uint8_t peer) const {
    std::vector<StatePlan> plans;
    for (const auto& m : out_) {
      if (m.to == id(peer)) plans.push_back(m.plan);
    }
    EXPECT_EQ(plans.size(), 1u) << "plans to peer " << int{peer};
    return plans.empty() ? StatePlan{} : plans.front();
  }
  void take() { out_.clear(); }

  // Every message is a final plan of this kind for this sync.
  void expectFinal(PlanKind kind, uint64_t sync, uint32_t round, uint64_t revision,
                   const std::vector<EndpointId>& to) {
    EXPECT_EQ(recipients(), to);
    for (const auto& m : out_) {
      EXPECT_EQ(m.plan.kind, kind);
      EXPECT_EQ(m.plan.sync, sync);
      EXPECT_EQ(m.plan.round, round);
      EXPECT_EQ(m.plan.state_revision, revision);
      EXPECT_TRUE(m.plan.receive.empty());
      EXPECT_TRUE(m.plan.transfers.empty());
      if (kind == PlanKind::kSucceeded) {
        EXPECT_EQ(m.plan.code, Code::kOk);
        EXPECT_EQ(m.plan.text, "");
      }
    }
  }
  void expectRound(const StatePlan& plan, uint64_t sync, uint32_t round, uint64_t revision) {
    EXPECT_EQ(plan.kind, PlanKind::kRound);
    EXPECT_EQ(plan.sync, sync);
    EXPECT_EQ(plan.round, round);
    EXPECT_EQ(plan.state_revision, revision);
    EXPECT_EQ(plan.code, Code::kOk);
  }

  // Members 1, 2, 3: peers 1 and 2 hold a 4 MiB entry, peer 3 differs.
  // Round 1: transfer 0 is [0, 2 MiB) from 1, transfer 1 [2 MiB, 4 MiB) from 2.
  void startFourMiBToPeerThree() {
    ASSERT_TRUE(cast(1, vote(4, {entry("w", 4 * kMiB, 0xa)})).isOk());
    ASSERT_TRUE(cast(2, vote(4, {entry("w", 4 * kMiB, 0xa)})).isOk());
    ASSERT_TRUE(cast(3, vote(4, {entry("w", 4 * kMiB, 0xb)})).isOk());
    ASSERT_EQ(recipients(), ids({1, 2, 3}));
    EXPECT_EQ(planFor(3).transfers, (std::vector<StateTransfer>{
                                        transfer(0, 0, 0, 2 * kMiB, 1, 3),
                                        transfer(1, 0, 2 * kMiB, 2 * kMiB, 2, 3),
                                    }));
    take();
  }
};

// ---- Votes ---------------------------------------------------------------------------

TEST_F(StateSyncArbiterTest, NoPlanUntilEveryMemberVoted) {
  ASSERT_TRUE(cast(1, vote(4, {entry("w", 64, 1)})).isOk());
  ASSERT_TRUE(cast(2, vote(4, {entry("w", 64, 1)})).isOk());
  EXPECT_TRUE(out_.empty());
  EXPECT_TRUE(arbiter_.active());
  ASSERT_TRUE(cast(3, vote(4, {entry("w", 64, 1)})).isOk());
  EXPECT_EQ(recipients(), ids({1, 2, 3}));
}

TEST_F(StateSyncArbiterTest, VoteFromANonMemberIsRefused) {
  const Status status = cast(9, vote(4, {entry("w", 64, 1)}));
  EXPECT_EQ(status.toString(),
            "InvalidUsage: peer 09090909 voted for a shared state sync but is "
            "not an accepted member");
  EXPECT_TRUE(out_.empty());
  EXPECT_FALSE(arbiter_.active());
}

TEST_F(StateSyncArbiterTest, VoteAtAnotherGroupRevisionIsRefused) {
  StateVote v = vote(4, {entry("w", 64, 1)});
  v.group_revision = 6;
  EXPECT_EQ(cast(1, v).toString(),
            "InvalidUsage: peer 01010101 voted for a shared state sync at "
            "ring revision 6, the group is at 7");
  EXPECT_TRUE(out_.empty());
  EXPECT_FALSE(arbiter_.active());
  // A refused vote does not count: the others' votes still wait for it.
  ASSERT_TRUE(cast(2, vote(4, {entry("w", 64, 1)})).isOk());
  ASSERT_TRUE(cast(3, vote(4, {entry("w", 64, 1)})).isOk());
  EXPECT_TRUE(out_.empty());
}

TEST_F(StateSyncArbiterTest, AllEqualSucceedsAtOnceForEveryMember) {
  for (uint8_t peer : {1, 2, 3})
    ASSERT_TRUE(cast(peer, vote(4, {entry("a", 64, 1), entry("b", 8 * kMiB, 2)})).isOk());
  expectFinal(PlanKind::kSucceeded, 1, 0, 4, ids({1, 2, 3}));
  EXPECT_FALSE(arbiter_.active());
  EXPECT_EQ(arbiter_.lastRevision(), 4u);
  EXPECT_EQ(arbiter_.syncsSucceeded(), 1u);
  EXPECT_EQ(arbiter_.syncsFailed(), 0u);
}

TEST_F(StateSyncArbiterTest, ARevoteWhileCollectingReplacesTheVote) {
  ASSERT_TRUE(cast(1, vote(4, {entry("w", 64, 1)})).isOk());
  ASSERT_TRUE(cast(1, vote(4, {entry("w", 64, 2)})).isOk());
  ASSERT_TRUE(cast(2, vote(4, {entry("w", 64, 2)})).isOk());
  EXPECT_TRUE(out_.empty());
  ASSERT_TRUE(cast(3, vote(4, {entry("w", 64, 2)})).isOk());
  expectFinal(PlanKind::kSucceeded, 1, 0, 4, ids({1, 2, 3}));
}

TEST_F(StateSyncArbiterTest, AnInvalidDecisionFailsEveryMember) {
  ASSERT_TRUE(cast(1, vote(4, {entry("w", 64, 1)})).isOk());
  ASSERT_TRUE(cast(2, vote(4, {entry("w", 64, 1)})).isOk());
  ASSERT_TRUE(cast(3, vote(4, {entry("w", 128, 1)})).isOk());  // the vote is fine; the group is not
  expectFinal(PlanKind::kFailed, 1, 0, 0, ids({1, 2, 3}));
  for (const auto& m : out_) {
    EXPECT_EQ(m.plan.code, Code::kInvalidUsage);
    EXPECT_EQ(m.plan.text,
              "shared state entry 'w' is 16 x f32 on peer 01010101 but 32 x f32 on "
              "peer 03030303");
  }
  EXPECT_FALSE(arbiter_.active());
  EXPECT_EQ(arbiter_.lastRevision(), std::nullopt);
  EXPECT_EQ(arbiter_.syncsFailed(), 1u);
}

// ---- Rounds --------------------------------------------------------------------------

TEST_F(StateSyncArbiterTest, RoundOnePlansOnlyToInvolvedPeers) {
  members_ = ids({1, 2, 3, 4});
  // Entry 0 is equal everywhere; entry 1 (4 KiB) differs on peer 3. One range
  // from one holder; entry 1 starts at the second holder (peer 2).
  for (uint8_t peer : {1, 2, 3, 4}) {
    const uint8_t content = peer == 3 ? 0xb : 0xa;
    ASSERT_TRUE(cast(peer, vote(9, {entry("a", 64, 1), entry("b", 4096, content)})).isOk());
  }
  ASSERT_EQ(recipients(), ids({2, 3}));
  const StateTransfer t = transfer(0, 1, 0, 4096, 2, 3);
  const StatePlan sender = planFor(2);
  expectRound(sender, 1, 1, 9);
  EXPECT_TRUE(sender.receive.empty());
  EXPECT_EQ(sender.transfers, std::vector<StateTransfer>{t});
  const StatePlan receiver = planFor(3);
  expectRound(receiver, 1, 1, 9);
  EXPECT_EQ(receiver.receive, (std::vector<StateExpectation>{{1, hash(0xa)}}));
  EXPECT_EQ(receiver.transfers, std::vector<StateTransfer>{t});
  EXPECT_TRUE(arbiter_.active());
  take();

  ASSERT_TRUE(done(3, 1, 1).isOk());
  EXPECT_TRUE(out_.empty());
  ASSERT_TRUE(done(2, 1, 1).isOk());
  expectFinal(PlanKind::kSucceeded, 1, 1, 9, ids({1, 2, 3, 4}));
  EXPECT_EQ(arbiter_.lastRevision(), 9u);
}

TEST_F(StateSyncArbiterTest, AReceiverOfSeveralEntriesExpectsEachOnce) {
  // Peer 3 lacks two entries; each is expected once, with its popular hash.
  for (uint8_t peer : {1, 2, 3}) {
    const bool odd = peer == 3;
    ASSERT_TRUE(cast(peer, vote(1, {entry("a", 2 * kMiB, odd ? 5 : 1), entry("b", 64, 2),
                                    entry("c", 4096, odd ? 6 : 3)}))
                    .isOk());
  }
  const StatePlan receiver = planFor(3);
  EXPECT_EQ(receiver.receive, (std::vector<StateExpectation>{{0, hash(1)}, {2, hash(3)}}));
  EXPECT_EQ(receiver.transfers, (std::vector<StateTransfer>{
                                    transfer(0, 0, 0, kMiB, 1, 3), transfer(1, 0, kMiB, kMiB, 2, 3),
                                    transfer(2, 2, 0, 4096, 1, 3),  // entry 2 rotates back to 1
                                }));
  EXPECT_EQ(planFor(1).transfers, (std::vector<StateTransfer>{transfer(0, 0, 0, kMiB, 1, 3),
                                                              transfer(2, 2, 0, 4096, 1, 3)}));
  EXPECT_EQ(planFor(2).transfers, (std::vector<StateTransfer>{transfer(1, 0, kMiB, kMiB, 2, 3)}));
}

TEST_F(StateSyncArbiterTest, FailedTransferIsRetriedFromAnotherHolder) {
  startFourMiBToPeerThree();
  ASSERT_TRUE(done(1, 1, 1).isOk());
  ASSERT_TRUE(done(3, 1, 1, {0}, {}, "transfer 0: connection reset").isOk());
  EXPECT_TRUE(out_.empty());
  ASSERT_TRUE(done(2, 1, 1).isOk());
  // The failed range alone, from peer 2; peer 1 is left out.
  ASSERT_EQ(recipients(), ids({2, 3}));
  const StateTransfer retry = transfer(2, 0, 0, 2 * kMiB, 2, 3);
  expectRound(planFor(2), 1, 2, 4);
  EXPECT_EQ(planFor(2).transfers, std::vector<StateTransfer>{retry});
  expectRound(planFor(3), 1, 2, 4);
  EXPECT_EQ(planFor(3).receive, (std::vector<StateExpectation>{{0, hash(0xa)}}));
  EXPECT_EQ(planFor(3).transfers, std::vector<StateTransfer>{retry});
  take();

  ASSERT_TRUE(done(2, 1, 2).isOk());
  ASSERT_TRUE(done(3, 1, 2).isOk());
  expectFinal(PlanKind::kSucceeded, 1, 2, 4, ids({1, 2, 3}));
}

TEST_F(StateSyncArbiterTest, BadEntryIsReplannedWholeWithoutAnyOfItsSources) {
  members_ = ids({1, 2, 3, 4, 5});
  for (uint8_t peer : {1, 2, 3, 4, 5})
    ASSERT_TRUE(cast(peer, vote(2, {entry("m", 2 * kMiB, peer == 3 ? 0xb : 0xa)})).isOk());
  EXPECT_EQ(planFor(3).transfers, (std::vector<StateTransfer>{
                                      transfer(0, 0, 0, kMiB, 1, 3),
                                      transfer(1, 0, kMiB, kMiB, 2, 3),
                                  }));
  take();
  ASSERT_TRUE(done(3, 1, 1, {}, {0}, "entry 'm' hash mismatch").isOk());
  ASSERT_TRUE(done(1, 1, 1).isOk());
  ASSERT_TRUE(done(2, 1, 1).isOk());
  // Which of 1 and 2 sent wrong bytes is unknown: 4 and 5 serve the whole entry.
  ASSERT_EQ(recipients(), ids({3, 4, 5}));
  EXPECT_EQ(planFor(3).transfers, (std::vector<StateTransfer>{
                                      transfer(2, 0, 0, kMiB, 4, 3),
                                      transfer(3, 0, kMiB, kMiB, 5, 3),
                                  }));
  EXPECT_EQ(planFor(3).round, 2u);
}

TEST_F(StateSyncArbiterTest, BadEntryAndFailedRangeOfItAreOneWholeRetry) {
  members_ = ids({1, 2, 3, 4});
  for (uint8_t peer : {1, 2, 3, 4})
    ASSERT_TRUE(cast(peer, vote(2, {entry("m", 2 * kMiB, peer == 3 ? 0xb : 0xa)})).isOk());
  take();
  ASSERT_TRUE(done(3, 1, 1, {1}, {0}).isOk());
  ASSERT_TRUE(done(1, 1, 1).isOk());
  ASSERT_TRUE(done(2, 1, 1).isOk());
  ASSERT_EQ(recipients(), ids({3, 4}));
  EXPECT_EQ(planFor(3).transfers, (std::vector<StateTransfer>{transfer(2, 0, 0, 2 * kMiB, 4, 3)}));
}

TEST_F(StateSyncArbiterTest, NoSourceLeftFailsTheSyncNamingTheEntry) {
  members_ = ids({1, 2});
  ASSERT_TRUE(cast(1, vote(3, {entry("a", 64, 1), entry("w", 4096, 0xa)})).isOk());
  ASSERT_TRUE(cast(2, vote(3, {entry("a", 64, 1), entry("w", 4096, 0xb)})).isOk());
  EXPECT_EQ(planFor(2).transfers, std::vector<StateTransfer>{transfer(0, 1, 0, 4096, 1, 2)});
  take();
  ASSERT_TRUE(done(1, 1, 1).isOk());
  ASSERT_TRUE(done(2, 1, 1, {0}, {}, "transfer 0 from peer 01010101: connection reset").isOk());
  expectFinal(PlanKind::kFailed, 1, 1, 3, ids({1, 2}));
  for (const auto& m : out_) {
    EXPECT_EQ(m.plan.code, Code::kPeerLost);
    EXPECT_EQ(m.plan.text,
              "shared state entry 'w' could not reach peer 02020202: no other peer "
              "holding it is left (transfer 0 from peer 01010101: connection reset)");
  }
  EXPECT_FALSE(arbiter_.active());
  EXPECT_EQ(arbiter_.syncsFailed(), 1u);
  EXPECT_EQ(arbiter_.lastRevision(), std::nullopt);
}

TEST_F(StateSyncArbiterTest, FailureWithoutAReasonIsNamedAfterTheReceiver) {
  members_ = ids({1, 2});
  ASSERT_TRUE(cast(1, vote(3, {entry("w", 4096, 0xa)})).isOk());
  ASSERT_TRUE(cast(2, vote(3, {entry("w", 4096, 0xb)})).isOk());
  take();
  ASSERT_TRUE(done(2, 1, 1, {0}).isOk());
  ASSERT_TRUE(done(1, 1, 1).isOk());
  ASSERT_EQ(out_.size(), 2u);
  EXPECT_EQ(out_[0].plan.text,
            "shared state entry 'w' could not reach peer 02020202: no other "
            "peer holding it is left (a transfer to peer 02020202 failed)");
}

TEST_F(StateSyncArbiterTest, GivesUpAfterTheRoundLimit) {
  // Seventeen holders, one receiver, every round failing: the seventeenth
  // holder would serve round 17, which is one too many.
  members_.clear();
  for (uint8_t peer = 1; peer <= 18; ++peer)
    members_.push_back(id(peer));
  for (uint8_t peer = 1; peer <= 18; ++peer)
    ASSERT_TRUE(cast(peer, vote(1, {entry("w", 4096, peer == 18 ? 0xb : 0xa)})).isOk());
  for (uint32_t round = 1; round <= StateSyncArbiter::kMaxRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const uint8_t source = static_cast<uint8_t>(round);
    ASSERT_EQ(recipients(), ids({source, 18}));
    EXPECT_EQ(planFor(18).transfers,
              std::vector<StateTransfer>{transfer(round - 1, 0, 0, 4096, source, 18)});
    take();
    ASSERT_TRUE(done(source, 1, round).isOk());
    ASSERT_TRUE(done(18, 1, round, {round - 1}, {}, "reset " + std::to_string(round)).isOk());
  }
  expectFinal(PlanKind::kFailed, 1, StateSyncArbiter::kMaxRounds, 1, members_);
  ASSERT_FALSE(out_.empty());
  EXPECT_EQ(out_[0].plan.code, Code::kPeerLost);
  EXPECT_EQ(out_[0].plan.text, "shared state sync gave up after 16 transfer rounds: reset 1");
}

TEST_F(StateSyncArbiterTest, CompletedReceiverBecomesAHolder) {
  for (bool three_first : {false, true}) {
    SCOPED_TRACE(three_first ? "peer 3 reports first" : "peer 2 reports first");
    arbiter_ = StateSyncArbiter{};
    take();
    // Three different copies: the tie goes to peer 1's; 2 and 3 receive it from 1.
    for (uint8_t peer : {1, 2, 3})
      ASSERT_TRUE(
          cast(peer, vote(1, {entry("w", 4096, static_cast<uint8_t>(0x10 + peer))})).isOk());
    EXPECT_EQ(planFor(1).transfers, (std::vector<StateTransfer>{transfer(0, 0, 0, 4096, 1, 2),
                                                                transfer(1, 0, 0, 4096, 1, 3)}));
    take();
    ASSERT_TRUE(done(1, 1, 1).isOk());
    if (three_first) {
      ASSERT_TRUE(done(3, 1, 1, {1}).isOk());
    }
    ASSERT_TRUE(done(2, 1, 1).isOk());
    if (!three_first) {
      ASSERT_TRUE(done(3, 1, 1, {1}).isOk());
    }
    // Peer 1 failed peer 3; peer 2 now holds the entry and serves it.
    ASSERT_EQ(recipients(), ids({2, 3}));
    EXPECT_EQ(planFor(3).transfers, std::vector<StateTransfer>{transfer(2, 0, 0, 4096, 2, 3)});
  }
}

TEST_F(StateSyncArbiterTest, StaleReportsAreIgnored) {
  startFourMiBToPeerThree();
  // Failures reported for another round, another sync, or twice: none counts.
  ASSERT_TRUE(done(3, 1, 2, {0}).isOk());
  ASSERT_TRUE(done(3, 2, 1, {0}).isOk());
  ASSERT_TRUE(done(3, 0, 0, {0, 1}).isOk());
  EXPECT_TRUE(out_.empty());
  ASSERT_TRUE(done(3, 1, 1).isOk());
  ASSERT_TRUE(done(3, 1, 1, {0, 1}, {0}).isOk());
  ASSERT_TRUE(done(1, 1, 1).isOk());
  EXPECT_TRUE(out_.empty());
  ASSERT_TRUE(done(2, 1, 1).isOk());
  expectFinal(PlanKind::kSucceeded, 1, 1, 4, ids({1, 2, 3}));
}

TEST_F(StateSyncArbiterTest, ReportsFromUninvolvedPeersAreIgnored) {
  members_ = ids({1, 2, 3, 4});
  for (uint8_t peer : {1, 2, 3, 4})
    ASSERT_TRUE(cast(peer, vote(1, {entry("w", 4096, peer == 3 ? 0xb : 0xa)})).isOk());
  ASSERT_EQ(recipients(), ids({1, 3}));
  take();
  ASSERT_TRUE(done(4, 1, 1).isOk());  // not in the round: not awaited
  ASSERT_TRUE(done(9, 1, 1).isOk());  // not even a member
  ASSERT_TRUE(done(1, 1, 1).isOk());
  EXPECT_TRUE(out_.empty());
  ASSERT_TRUE(done(3, 1, 1).isOk());
  expectFinal(PlanKind::kSucceeded, 1, 1, 1, ids({1, 2, 3, 4}));
}

TEST_F(StateSyncArbiterTest, ReportWithNoSyncRunningIsIgnored) {
  ASSERT_TRUE(done(1, 1, 1, {0}).isOk());
  EXPECT_TRUE(out_.empty());
  EXPECT_FALSE(arbiter_.active());
}

// ---- Departures ----------------------------------------------------------------------

TEST_F(StateSyncArbiterTest, MemberGoneWhileCollectingVotesLetsTheOthersDecide) {
  ASSERT_TRUE(cast(1, vote(4, {entry("w", 64, 1)})).isOk());
  ASSERT_TRUE(cast(2, vote(4, {entry("w", 64, 1)})).isOk());
  gone(3);
  expectFinal(PlanKind::kSucceeded, 1, 0, 4, ids({1, 2}));
}

TEST_F(StateSyncArbiterTest, AVoterThatLeavesNoLongerCounts) {
  // Peers 2 and 3 hold the majority; once 3 has left, 1's earlier rank wins the tie.
  ASSERT_TRUE(cast(2, vote(4, {entry("w", 4096, 0xb)})).isOk());
  ASSERT_TRUE(cast(3, vote(4, {entry("w", 4096, 0xb)})).isOk());
  gone(3);
  EXPECT_TRUE(out_.empty());
  ASSERT_TRUE(cast(1, vote(4, {entry("w", 4096, 0xa)})).isOk());
  ASSERT_EQ(recipients(), ids({1, 2}));
  EXPECT_EQ(planFor(2).transfers, std::vector<StateTransfer>{transfer(0, 0, 0, 4096, 1, 2)});
  EXPECT_EQ(planFor(2).receive, (std::vector<StateExpectation>{{0, hash(0xa)}}));
}

TEST_F(StateSyncArbiterTest, LastMemberGoneEndsTheSyncSilently) {
  members_ = ids({1, 2});
  ASSERT_TRUE(cast(1, vote(4, {entry("w", 64, 1)})).isOk());
  gone(1);
  EXPECT_TRUE(arbiter_.active());  // 2 has not voted
  gone(2);
  EXPECT_TRUE(out_.empty());
  EXPECT_FALSE(arbiter_.active());
}

TEST_F(StateSyncArbiterTest, SenderGoneWhileAwaitedEndsTheRound) {
  startFourMiBToPeerThree();
  ASSERT_TRUE(done(1, 1, 1).isOk());
  ASSERT_TRUE(done(3, 1, 1, {1}, {}, "peer 02020202 stopped sending").isOk());
  EXPECT_TRUE(out_.empty());
  gone(2);
  // Its range comes from peer 1 in round 2.
  ASSERT_EQ(recipients(), ids({1, 3}));
  EXPECT_EQ(planFor(3).transfers,
            std::vector<StateTransfer>{transfer(2, 0, 2 * kMiB, 2 * kMiB, 1, 3)});
  EXPECT_EQ(planFor(1).round, 2u);
  take();
  ASSERT_TRUE(done(1, 1, 2).isOk());
  ASSERT_TRUE(done(3, 1, 2).isOk());
  expectFinal(PlanKind::kSucceeded, 1, 2, 4, ids({1, 3}));
}

TEST_F(StateSyncArbiterTest, ReceiverGoneWhileAwaitedEndsTheRound) {
  for (uint8_t peer : {1, 2, 3})
    ASSERT_TRUE(cast(peer, vote(1, {entry("w", 4096, static_cast<uint8_t>(0x10 + peer))})).isOk());
  take();
  ASSERT_TRUE(done(1, 1, 1).isOk());
  ASSERT_TRUE(done(2, 1, 1).isOk());
  gone(3);
  expectFinal(PlanKind::kSucceeded, 1, 1, 1, ids({1, 2}));
}

TEST_F(StateSyncArbiterTest, RetriesOfADepartedReceiverAreDropped) {
  // Peer 3 failed and left before the round ended: nothing is planned for it.
  members_ = ids({1, 2, 3, 4});
  for (uint8_t peer : {1, 2, 3, 4})
    ASSERT_TRUE(cast(peer, vote(1, {entry("w", 4096, peer <= 2 ? 0xa : 0xb)})).isOk());
  take();
  ASSERT_TRUE(done(3, 1, 1, {0}).isOk());
  ASSERT_TRUE(done(1, 1, 1).isOk());
  gone(3);
  EXPECT_TRUE(out_.empty());  // still waiting for 2 and 4
  ASSERT_TRUE(done(2, 1, 1).isOk());
  ASSERT_TRUE(done(4, 1, 1).isOk());
  expectFinal(PlanKind::kSucceeded, 1, 1, 1, ids({1, 2, 4}));
}

TEST_F(StateSyncArbiterTest, DepartedHolderIsNoSource) {
  // Peer 1 failed peer 3, and peer 2 (the other holder) left: no source is left.
  for (uint8_t peer : {1, 2, 3})
    ASSERT_TRUE(cast(peer, vote(1, {entry("w", 4096, peer == 3 ? 0xb : 0xa)})).isOk());
  ASSERT_EQ(recipients(), ids({1, 3}));
  take();
  gone(2);  // not in the round: the round goes on
  EXPECT_TRUE(out_.empty());
  ASSERT_TRUE(done(1, 1, 1).isOk());
  ASSERT_TRUE(done(3, 1, 1, {0}, {}, "reset").isOk());
  expectFinal(PlanKind::kFailed, 1, 1, 1, ids({1, 3}));
  ASSERT_FALSE(out_.empty());
  EXPECT_EQ(out_[0].plan.code, Code::kPeerLost);
  EXPECT_EQ(out_[0].plan.text,
            "shared state entry 'w' could not reach peer 03030303: no other "
            "peer holding it is left (reset)");
}

// ---- Successive syncs ------------------------------------------------------------------

TEST_F(StateSyncArbiterTest, NewVoteDuringTransfersFailsTheRunningSyncForTheOthers) {
  startFourMiBToPeerThree();
  ASSERT_TRUE(cast(1, vote(4, {entry("w", 4 * kMiB, 0xa)})).isOk());
  expectFinal(PlanKind::kFailed, 1, 1, 4, ids({2, 3}));
  for (const auto& m : out_) {
    EXPECT_EQ(m.plan.code, Code::kInvalidUsage);
    EXPECT_EQ(m.plan.text,
              "peer 01010101 began a new shared state sync before sync 1 ended (did "
              "its call time out?)");
  }
  EXPECT_EQ(arbiter_.syncsFailed(), 1u);
  EXPECT_TRUE(arbiter_.active());  // the new sync, with peer 1's vote
  take();
  // Reports of the old sync change nothing.
  ASSERT_TRUE(done(3, 1, 1, {0}).isOk());
  EXPECT_TRUE(out_.empty());
  ASSERT_TRUE(cast(2, vote(4, {entry("w", 4 * kMiB, 0xa)})).isOk());
  EXPECT_TRUE(out_.empty());
  ASSERT_TRUE(cast(3, vote(4, {entry("w", 4 * kMiB, 0xb)})).isOk());
  ASSERT_EQ(recipients(), ids({1, 2, 3}));
  const StatePlan plan = planFor(3);
  expectRound(plan, 2, 1, 4);
  // Transfer ids start again: they are unique within a sync.
  EXPECT_EQ(plan.transfers, (std::vector<StateTransfer>{
                                transfer(0, 0, 0, 2 * kMiB, 1, 3),
                                transfer(1, 0, 2 * kMiB, 2 * kMiB, 2, 3),
                            }));
}

TEST_F(StateSyncArbiterTest, VoteAtANewGroupRevisionRestartsTheSync) {
  ASSERT_TRUE(cast(1, vote(4, {entry("w", 64, 1)})).isOk());
  ASSERT_TRUE(cast(2, vote(4, {entry("w", 64, 1)})).isOk());
  StateVote next = vote(4, {entry("w", 64, 1)});
  next.group_revision = 8;
  ASSERT_TRUE(cast(1, next, 8).isOk());
  expectFinal(PlanKind::kFailed, 1, 0, 0, ids({2, 3}));
  take();
  ASSERT_TRUE(cast(2, next, 8).isOk());
  ASSERT_TRUE(cast(3, next, 8).isOk());
  expectFinal(PlanKind::kSucceeded, 2, 0, 4, ids({1, 2, 3}));
}

TEST_F(StateSyncArbiterTest, NextSyncEnforcesOneMoreRevisionForPreviousMembers) {
  for (uint8_t peer : {1, 2, 3})
    ASSERT_TRUE(cast(peer, vote(4, {entry("w", 64, 1)})).isOk());
  ASSERT_EQ(arbiter_.lastRevision(), 4u);
  take();

  // The same revision again is refused, for everyone.
  for (uint8_t peer : {1, 2, 3})
    ASSERT_TRUE(cast(peer, vote(4, {entry("w", 64, 1)})).isOk());
  expectFinal(PlanKind::kFailed, 2, 0, 0, ids({1, 2, 3}));
  ASSERT_FALSE(out_.empty());
  EXPECT_EQ(out_[0].plan.code, Code::kInvalidUsage);
  EXPECT_EQ(out_[0].plan.text,
            "peer 01010101 presents shared state revision 4; after the group's "
            "sync at 4 it must present 5 (one more per sync) or sync "
            "RECEIVE_ONLY");
  EXPECT_EQ(arbiter_.lastRevision(), 4u);
  take();

  // A newcomer may present anything; the group moves to 5 and it receives.
  members_.push_back(id(4));
  for (uint8_t peer : {1, 2, 3})
    ASSERT_TRUE(cast(peer, vote(5, {entry("w", 64, 2)})).isOk());
  ASSERT_TRUE(cast(4, vote(0, {entry("w", 64, 9)})).isOk());
  EXPECT_EQ(planFor(4).state_revision, 5u);
  EXPECT_EQ(planFor(4).receive, (std::vector<StateExpectation>{{0, hash(2)}}));
  EXPECT_EQ(planFor(1).transfers, std::vector<StateTransfer>{transfer(0, 0, 0, 64, 1, 4)});
  take();
  ASSERT_TRUE(done(1, 3, 1).isOk());
  ASSERT_TRUE(done(4, 3, 1).isOk());
  expectFinal(PlanKind::kSucceeded, 3, 1, 5, ids({1, 2, 3, 4}));
  EXPECT_EQ(arbiter_.lastRevision(), 5u);
  EXPECT_EQ(arbiter_.syncsSucceeded(), 2u);
  EXPECT_EQ(arbiter_.syncsFailed(), 1u);
  take();

  // Now peer 4 is bound too.
  for (uint8_t peer : {1, 2, 3})
    ASSERT_TRUE(cast(peer, vote(6, {entry("w", 64, 2)})).isOk());
  ASSERT_TRUE(cast(4, vote(5, {entry("w", 64, 2)})).isOk());
  ASSERT_FALSE(out_.empty());
  EXPECT_EQ(out_[0].plan.kind, PlanKind::kFailed);
  EXPECT_EQ(out_[0].plan.text,
            "peer 04040404 presents shared state revision 5; after the group's "
            "sync at 5 it must present 6 (one more per sync) or sync "
            "RECEIVE_ONLY");
}

TEST_F(StateSyncArbiterTest, AMemberThatLeftAndCameBackIsNotBound) {
  for (uint8_t peer : {1, 2, 3})
    ASSERT_TRUE(cast(peer, vote(4, {entry("w", 64, 1)})).isOk());
  take();
  gone(3);
  members_.push_back(id(3));  // rejoined under the same id
  for (uint8_t peer : {1, 2})
    ASSERT_TRUE(cast(peer, vote(5, {entry("w", 64, 1)})).isOk());
  ASSERT_TRUE(cast(3, vote(0, {entry("w", 64, 1)})).isOk());
  expectFinal(PlanKind::kSucceeded, 2, 0, 5, ids({1, 2, 3}));
}

TEST_F(StateSyncArbiterTest, ReceiveOnlyPreviousMemberIsNotBound) {
  for (uint8_t peer : {1, 2, 3})
    ASSERT_TRUE(cast(peer, vote(4, {entry("w", 64, 1)})).isOk());
  take();
  ASSERT_TRUE(cast(1, vote(5, {entry("w", 64, 1)})).isOk());
  ASSERT_TRUE(cast(2, vote(5, {entry("w", 64, 1)})).isOk());
  ASSERT_TRUE(cast(3, vote(0, {entry("w", 64, 7)}, SyncStrategy::kReceiveOnly)).isOk());
  ASSERT_EQ(recipients(), ids({1, 3}));
  EXPECT_EQ(planFor(3).state_revision, 5u);
}

// ---- Fetches before admission ----------------------------------------------------------

protocol::StateFetchRequest fetchRequest(std::vector<StateEntrySummary> entries,
                                         uint64_t bytes_per_s, uint64_t fetch = 0) {
  protocol::StateFetchRequest request;
  request.fetch = fetch;
  request.entries = std::move(entries);
  request.bytes_per_s = bytes_per_s;
  return request;
}

// The plans handed out, by recipient.
std::map<EndpointId, protocol::StateFetchPlan> byRecipient(
    const std::vector<StateSyncArbiter::FetchMessage>& messages) {
  std::map<EndpointId, protocol::StateFetchPlan> out;
  for (const auto& m : messages) {
    EXPECT_EQ(out.count(m.to), 0u) << "two fetch plans to one peer";
    out[m.to] = m.plan;
  }
  return out;
}

TEST_F(StateSyncArbiterTest, TheNextSuccessfulSyncIsTheFetchersSnapshot) {
  // The fetcher (peer 8) already holds entry "a"; "b" is split across the three members.
  arbiter_.onFetchRequest(
      id(8), fetchRequest({entry("a", 64, 1), entry("b", 4 * kMiB, 9)}, 30'000'000, /*fetch=*/6));
  EXPECT_EQ(arbiter_.fetchesWaiting(), 1u);
  for (uint8_t peer : {1, 2, 3})
    ASSERT_TRUE(cast(peer, vote(4, {entry("a", 64, 1), entry("b", 4 * kMiB, 2)})).isOk());
  expectFinal(PlanKind::kSucceeded, 1, 0, 4, ids({1, 2, 3}));
  const auto plans = byRecipient(arbiter_.takeFetchPlans());
  EXPECT_EQ(arbiter_.fetchesWaiting(), 0u);
  EXPECT_TRUE(arbiter_.takeFetchPlans().empty());
  ASSERT_EQ(plans.count(id(8)), 1u);
  const protocol::StateFetchPlan& fetcher = plans.at(id(8));
  EXPECT_EQ(fetcher.sync, 1u);
  EXPECT_EQ(fetcher.state_revision, 4u);
  EXPECT_EQ(fetcher.fetcher, id(8));
  EXPECT_EQ(fetcher.fetch, 6u) << "the plan echoes the request's fetch number";
  EXPECT_EQ(fetcher.code, Code::kOk);
  EXPECT_EQ(fetcher.receive, (std::vector<StateExpectation>{{1, hash(2)}}));
  // [0, 4 MiB) of entry 1, covered once, from three different members.
  uint64_t next = 0;
  std::set<EndpointId> sources;
  for (const StateTransfer& t : fetcher.transfers) {
    EXPECT_EQ(t.entry, 1u);
    EXPECT_EQ(t.offset, next);
    EXPECT_EQ(t.to, id(8));
    next += t.bytes;
    sources.insert(t.from);
  }
  EXPECT_EQ(next, 4 * kMiB);
  EXPECT_EQ(sources, (std::set<EndpointId>{id(1), id(2), id(3)}));
  EXPECT_EQ(fetcher.bytes_per_s, 10'000'000u);  // the pace is split over the sources
  // Each source learns its own transfers and the pace; the hashes are the fetcher's business.
  EXPECT_EQ(plans.size(), 4u);
  for (uint8_t member : {1, 2, 3}) {
    const protocol::StateFetchPlan& source = plans.at(id(member));
    EXPECT_EQ(source.fetcher, id(8));
    EXPECT_EQ(source.fetch, 6u);
    EXPECT_EQ(source.bytes_per_s, 10'000'000u);
    EXPECT_TRUE(source.receive.empty());
    ASSERT_EQ(source.transfers.size(), 1u);
    EXPECT_EQ(source.transfers[0].from, id(member));
  }
}

TEST_F(StateSyncArbiterTest, AFetchWaitsForASyncThatSucceeds) {
  arbiter_.onFetchRequest(id(8), fetchRequest({entry("w", 64, 9)}, 0));
  ASSERT_TRUE(cast(1, vote(4, {entry("w", 64, 1)})).isOk());
  ASSERT_TRUE(cast(2, vote(4, {entry("w", 64, 1)})).isOk());
  ASSERT_TRUE(cast(3, vote(4, {entry("w", 128, 1)})).isOk());  // fails: shapes differ
  EXPECT_TRUE(arbiter_.takeFetchPlans().empty());
  EXPECT_EQ(arbiter_.fetchesWaiting(), 1u);
  take();
  for (uint8_t peer : {1, 2, 3})
    ASSERT_TRUE(cast(peer, vote(4, {entry("w", 64, 1)})).isOk());
  const auto plans = byRecipient(arbiter_.takeFetchPlans());
  ASSERT_EQ(plans.count(id(8)), 1u);
  EXPECT_EQ(plans.at(id(8)).sync, 2u);
  EXPECT_EQ(plans.at(id(8)).bytes_per_s, 0u);  // unpaced
  ASSERT_EQ(plans.at(id(8)).transfers.size(), 1u);
  EXPECT_EQ(plans.size(), 2u);  // the fetcher and one source (a small entry is not split)
}

TEST_F(StateSyncArbiterTest, AFetcherWithOtherEntriesAloneGetsTheError) {
  arbiter_.onFetchRequest(id(8), fetchRequest({entry("w", 128, 9)}, 0));
  for (uint8_t peer : {1, 2, 3})
    ASSERT_TRUE(cast(peer, vote(4, {entry("w", 64, 1)})).isOk());
  expectFinal(PlanKind::kSucceeded, 1, 0, 4, ids({1, 2, 3}));  // the members' sync is unaffected
  const auto plans = byRecipient(arbiter_.takeFetchPlans());
  ASSERT_EQ(plans.size(), 1u);
  const protocol::StateFetchPlan& plan = plans.at(id(8));
  EXPECT_EQ(plan.code, Code::kInvalidUsage);
  EXPECT_EQ(plan.text,
            "the fetched shared state does not match the group's: shared state entry 'w' is "
            "16 x f32 on peer 01010101 but 32 x f32 on peer 08080808");
  EXPECT_TRUE(plan.transfers.empty());
  EXPECT_EQ(arbiter_.fetchesWaiting(), 0u);
}

TEST_F(StateSyncArbiterTest, AFetcherThatHoldsEverythingGetsAnEmptyPlan) {
  arbiter_.onFetchRequest(id(8), fetchRequest({entry("w", 2 * kMiB, 1)}, 5));
  for (uint8_t peer : {1, 2, 3})
    ASSERT_TRUE(cast(peer, vote(4, {entry("w", 2 * kMiB, 1)})).isOk());
  const auto plans = byRecipient(arbiter_.takeFetchPlans());
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(plans.at(id(8)).code, Code::kOk);
  EXPECT_EQ(plans.at(id(8)).sync, 1u);
  EXPECT_TRUE(plans.at(id(8)).transfers.empty());
  EXPECT_TRUE(plans.at(id(8)).receive.empty());
}

TEST_F(StateSyncArbiterTest, AFetcherThatLeftGetsNothing) {
  arbiter_.onFetchRequest(id(8), fetchRequest({entry("w", 64, 9)}, 0));
  arbiter_.onFetcherGone(id(8));
  for (uint8_t peer : {1, 2, 3})
    ASSERT_TRUE(cast(peer, vote(4, {entry("w", 64, 1)})).isOk());
  EXPECT_TRUE(arbiter_.takeFetchPlans().empty());
}

TEST_F(StateSyncArbiterTest, AFetchersSecondRequestReplacesItsFirst) {
  // (A fetcher of another group is planned the same way: the arbiter never
  // admits anybody.)
  arbiter_.onFetchRequest(id(8), fetchRequest({entry("w", 128, 9)}, 0, /*fetch=*/1));
  arbiter_.onFetchRequest(id(8), fetchRequest({entry("w", 64, 9)}, 7, /*fetch=*/2));
  EXPECT_EQ(arbiter_.fetchesWaiting(), 1u);
  EXPECT_TRUE(arbiter_.fetchWaiting(id(8)));
  EXPECT_FALSE(arbiter_.fetchWaiting(id(9)));
  for (uint8_t peer : {1, 2, 3})
    ASSERT_TRUE(cast(peer, vote(4, {entry("w", 64, 1)})).isOk());
  const auto plans = byRecipient(arbiter_.takeFetchPlans());
  ASSERT_EQ(plans.size(), 2u);
  EXPECT_EQ(plans.at(id(8)).code, Code::kOk) << "the second request's entries match";
  EXPECT_EQ(plans.at(id(8)).bytes_per_s, 7u);
  EXPECT_EQ(plans.at(id(8)).fetch, 2u) << "the plan is the second request's";
  EXPECT_FALSE(arbiter_.fetchWaiting(id(8))) << "planned: no longer waiting";
}

}  // namespace
}  // namespace eccl::membership
