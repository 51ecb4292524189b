// The master's decision for a shared-state sync (consensus.h): shapes, the
// revision rules, the popular hash per entry with its holders and receivers,
// and how a receiver's missing bytes are split across holders.
#include "src/state/consensus.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/reduce/reduce.h"
#include "src/state/shared_state.h"

namespace eccl::state {
namespace {

using protocol::StateEntrySummary;
using protocol::StateHash;
using protocol::StateTransfer;
using protocol::StateVote;
using reduce::DType;
using Strategy = SyncStrategy;

EndpointId id(uint8_t fill) {
  EndpointId out;
  out.bytes.fill(fill);
  return out;
}

// "peer 01010101": how decide() names peer id(1).
std::string peer(uint8_t fill) {
  return "peer " + id(fill).shortHex();
}

StateHash hash(uint8_t fill) {
  StateHash out;
  out.fill(fill);
  return out;
}

StateEntrySummary entry(std::string name, uint8_t content, uint64_t count = 256,
                        DType dtype = DType::kF32, uint8_t flags = 0) {
  StateEntrySummary out;
  out.name = std::move(name);
  out.count = count;
  out.dtype = static_cast<uint8_t>(dtype);
  out.flags = flags;
  out.hash = hash(content);
  return out;
}

// The usual two entries ("bias" and "weights", in name order) with the given contents.
std::vector<StateEntrySummary> model(uint8_t bias, uint8_t weights) {
  return {entry("bias", bias, 16), entry("weights", weights, 1024)};
}

// Votes in rank order; voters point into the votes, which stay put.
class Ballot {
 public:
  Ballot& add(uint8_t fill, Strategy strategy, uint64_t revision,
              std::vector<StateEntrySummary> entries, bool synced_last = false) {
    auto vote = std::make_unique<StateVote>();
    vote->group_revision = 9;
    vote->state_revision = revision;
    vote->strategy = static_cast<uint8_t>(strategy);
    vote->entries = std::move(entries);
    voters_.push_back({id(fill), vote.get(), synced_last});
    votes_.push_back(std::move(vote));
    return *this;
  }
  Result<Decision> decide(std::optional<uint64_t> last = std::nullopt) const {
    return state::decide(voters_, last);
  }
  // The error text of a refused decision ("Ok" when it was not refused).
  std::string refusal(std::optional<uint64_t> last = std::nullopt) const {
    auto decision = decide(last);
    return decision ? "Ok" : decision.status().toString();
  }

 private:
  std::vector<std::unique_ptr<StateVote>> votes_;
  std::vector<Voter> voters_;
};

std::vector<EndpointId> ids(std::initializer_list<uint8_t> fills) {
  std::vector<EndpointId> out;
  for (uint8_t fill : fills)
    out.push_back(id(fill));
  return out;
}

constexpr auto kEnforce = Strategy::kEnforcePopular;
constexpr auto kSend = Strategy::kSendOnly;
constexpr auto kReceive = Strategy::kReceiveOnly;

// ---- Shapes ----------------------------------------------------------------------

TEST(DecideShapes, AnEntryMissingOnALaterVoterNamesBothPeers) {
  Ballot ballot;
  ballot.add(1, kEnforce, 0, model(1, 1)).add(2, kEnforce, 0, {entry("bias", 1, 16)});
  EXPECT_EQ(ballot.refusal(), "InvalidUsage: shared state entry 'weights' is on " + peer(1) +
                                  " but not on " + peer(2));
}

TEST(DecideShapes, AnEntryOnlyOnALaterVoterNamesBothPeers) {
  Ballot ballot;
  ballot.add(1, kEnforce, 0, model(1, 1))
      .add(2, kEnforce, 0, {entry("bias", 1, 16), entry("step", 1, 1), entry("weights", 1, 1024)});
  EXPECT_EQ(ballot.refusal(),
            "InvalidUsage: shared state entry 'step' is on " + peer(2) + " but not on " + peer(1));
}

TEST(DecideShapes, AnEntryMissingOnTheFirstVoterAtTheEnd) {
  Ballot ballot;
  ballot.add(1, kEnforce, 0, {entry("bias", 1, 16)}).add(2, kEnforce, 0, model(1, 1));
  EXPECT_EQ(ballot.refusal(), "InvalidUsage: shared state entry 'weights' is on " + peer(2) +
                                  " but not on " + peer(1));
}

TEST(DecideShapes, EveryVoterIsComparedWithTheFirst) {
  Ballot ballot;
  ballot.add(1, kEnforce, 0, model(1, 1))
      .add(2, kEnforce, 0, model(1, 1))
      .add(3, kEnforce, 0, {entry("bias", 1, 16), entry("weights", 1, 1023)});
  EXPECT_EQ(ballot.refusal(), "InvalidUsage: shared state entry 'weights' is 1024 x f32 on " +
                                  peer(1) + " but 1023 x f32 on " + peer(3));
}

TEST(DecideShapes, DifferentCount) {
  Ballot ballot;
  ballot.add(1, kEnforce, 0, {entry("w", 1, 4)}).add(2, kEnforce, 0, {entry("w", 1, 5)});
  EXPECT_EQ(ballot.refusal(), "InvalidUsage: shared state entry 'w' is 4 x f32 on " + peer(1) +
                                  " but 5 x f32 on " + peer(2));
}

TEST(DecideShapes, DifferentDtype) {
  // Same byte size, different type: still a mismatch.
  Ballot ballot;
  ballot.add(1, kEnforce, 0, {entry("w", 1, 4, DType::kF32)})
      .add(2, kEnforce, 0, {entry("w", 1, 4, DType::kI32)});
  EXPECT_EQ(ballot.refusal(), "InvalidUsage: shared state entry 'w' is 4 x f32 on " + peer(1) +
                                  " but 4 x i32 on " + peer(2));
}

TEST(DecideShapes, DifferentFlag) {
  Ballot ballot;
  ballot.add(1, kEnforce, 0, {entry("rng", 1, 4, DType::kU64, protocol::kStateFlagAllowInequality)})
      .add(2, kEnforce, 0, {entry("rng", 1, 4, DType::kU64)});
  EXPECT_EQ(ballot.refusal(),
            "InvalidUsage: shared state entry 'rng' is 4 x u64 (unequal content allowed) on " +
                peer(1) + " but 4 x u64 on " + peer(2));
}

TEST(DecideShapes, ShapesAreCheckedBeforeRevisions) {
  Ballot ballot;
  ballot.add(1, kEnforce, 3, {entry("w", 1, 4)}, true).add(2, kEnforce, 3, {entry("w", 1, 5)});
  EXPECT_EQ(ballot.refusal(5), "InvalidUsage: shared state entry 'w' is 4 x f32 on " + peer(1) +
                                   " but 5 x f32 on " + peer(2));
}

TEST(DecideShapes, NoVotersIsRefused) {
  EXPECT_EQ(Ballot().refusal(), "InvalidUsage: a shared state sync needs at least one peer");
}

// ---- Revision rules --------------------------------------------------------------

std::string mustPresent(uint8_t fill, uint64_t presented, uint64_t last) {
  return "InvalidUsage: " + peer(fill) + " presents shared state revision " +
         std::to_string(presented) + "; after the group's sync at " + std::to_string(last) +
         " it must present " + std::to_string(last + 1) +
         " (one more per sync) or sync RECEIVE_ONLY";
}

TEST(DecideRevision, AMemberOfTheLastSyncMustPresentOneMore) {
  for (uint64_t presented : {uint64_t{5}, uint64_t{7}, uint64_t{0}}) {
    Ballot ballot;
    ballot.add(1, kEnforce, 6, model(1, 1), true).add(2, kEnforce, presented, model(1, 1), true);
    EXPECT_EQ(ballot.refusal(5), mustPresent(2, presented, 5));
  }
}

TEST(DecideRevision, ASendOnlyMemberOfTheLastSyncMustPresentOneMore) {
  Ballot ballot;
  ballot.add(1, kSend, 9, model(1, 1), true).add(2, kEnforce, 6, model(1, 1), true);
  EXPECT_EQ(ballot.refusal(5), mustPresent(1, 9, 5));
}

TEST(DecideRevision, AReceiveOnlyMemberOfTheLastSyncMayPresentAnything) {
  Ballot ballot;
  ballot.add(1, kReceive, 0, model(7, 7), true).add(2, kEnforce, 6, model(1, 1), true);
  auto decision = ballot.decide(5);
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  EXPECT_EQ(decision->revision, 6u);
  EXPECT_EQ(decision->entries[0].receivers, ids({1}));
}

TEST(DecideRevision, ANewcomerIsNotBoundByTheLastSync) {
  Ballot ballot;
  ballot.add(1, kEnforce, 6, model(1, 1), true).add(2, kEnforce, 0, model(1, 1), false);
  auto decision = ballot.decide(5);
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  EXPECT_EQ(decision->revision, 6u);
}

TEST(DecideRevision, WithoutALastSyncSyncedLastIsIgnored) {
  Ballot ballot;
  ballot.add(1, kEnforce, 3, model(1, 1), true).add(2, kEnforce, 3, model(1, 1), true);
  auto decision = ballot.decide(std::nullopt);
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  EXPECT_EQ(decision->revision, 3u);
}

TEST(DecideRevision, SendOnlyRevisionAndContentWin) {
  // Two ENFORCE_POPULAR peers agree with each other; the SEND_ONLY one still wins.
  Ballot ballot;
  ballot.add(1, kEnforce, 3, model(1, 1))
      .add(2, kSend, 10, model(2, 1))
      .add(3, kEnforce, 3, model(1, 1));
  auto decision = ballot.decide();
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  EXPECT_EQ(decision->revision, 10u);
  EXPECT_EQ(decision->entries[0].hash, hash(2));
  EXPECT_EQ(decision->entries[0].holders, ids({2}));
  EXPECT_EQ(decision->entries[0].receivers, ids({1, 3}));
  EXPECT_EQ(decision->entries[1].hash, hash(1));
  EXPECT_EQ(decision->entries[1].holders, ids({1, 2, 3}));
  EXPECT_TRUE(decision->entries[1].receivers.empty());
}

TEST(DecideRevision, SendOnlyOverridesContinuation) {
  Ballot ballot;
  ballot.add(1, kEnforce, 6, model(1, 1), true).add(2, kSend, 40, model(2, 2));
  auto decision = ballot.decide(5);
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  EXPECT_EQ(decision->revision, 40u);
  EXPECT_EQ(decision->entries[0].holders, ids({2}));
}

TEST(DecideRevision, ContinuingGroupMovesToLastPlusOne) {
  // Two newcomers at 9 outnumber the continuing member at 6; 6 is the target
  // and only peers at 6 vote on content.
  Ballot ballot;
  ballot.add(1, kEnforce, 6, model(1, 1), true)
      .add(2, kEnforce, 9, model(2, 2))
      .add(3, kEnforce, 9, model(2, 2));
  auto decision = ballot.decide(5);
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  EXPECT_EQ(decision->revision, 6u);
  for (const EntryDecision& e : decision->entries) {
    EXPECT_EQ(e.hash, hash(1));
    EXPECT_EQ(e.holders, ids({1}));
    EXPECT_EQ(e.receivers, ids({2, 3}));
  }
}

TEST(DecideRevision, OnlyReceiveOnlyMembersOfTheLastSyncDoNotContinue) {
  // The only member of the last sync receives: the most common revision decides.
  Ballot ballot;
  ballot.add(1, kReceive, 0, model(1, 1), true)
      .add(2, kEnforce, 2, model(2, 2))
      .add(3, kEnforce, 2, model(2, 2));
  auto decision = ballot.decide(5);
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  EXPECT_EQ(decision->revision, 2u);
}

TEST(DecideRevision, LastSyncWithoutAnyOfItsMembersUsesTheMostCommon) {
  Ballot ballot;
  ballot.add(1, kEnforce, 2, model(1, 1)).add(2, kEnforce, 2, model(1, 1));
  auto decision = ballot.decide(5);
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  EXPECT_EQ(decision->revision, 2u);
}

TEST(DecideRevision, MostCommonEnforcePopularRevision) {
  // 3 has three votes, 7 two; content is voted among the peers at 3 only,
  // though hash 2 has three votes in all.
  Ballot ballot;
  ballot.add(1, kEnforce, 3, model(1, 1))
      .add(2, kEnforce, 3, model(2, 2))
      .add(3, kEnforce, 7, model(2, 2))
      .add(4, kEnforce, 7, model(2, 2))
      .add(5, kEnforce, 3, model(1, 1));
  auto decision = ballot.decide();
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  EXPECT_EQ(decision->revision, 3u);
  EXPECT_EQ(decision->entries[0].hash, hash(1));
  EXPECT_EQ(decision->entries[0].holders, ids({1, 5}));
  EXPECT_EQ(decision->entries[0].receivers, ids({2, 3, 4}));
}

TEST(DecideRevision, RevisionTieGoesToTheHighest) {
  for (bool reversed : {false, true}) {
    Ballot ballot;
    if (reversed) {
      ballot.add(1, kEnforce, 7, model(1, 1)).add(2, kEnforce, 3, model(2, 2));
    } else {
      ballot.add(1, kEnforce, 3, model(2, 2)).add(2, kEnforce, 7, model(1, 1));
    }
    ballot.add(3, kEnforce, 3, model(2, 2)).add(4, kEnforce, 7, model(1, 1));
    auto decision = ballot.decide();
    ASSERT_TRUE(decision.isOk()) << decision.status().toString();
    EXPECT_EQ(decision->revision, 7u) << reversed;
    EXPECT_EQ(decision->entries[0].hash, hash(1)) << reversed;
  }
}

TEST(DecideRevision, ReceiveOnlyRevisionsDoNotCount) {
  Ballot ballot;
  ballot.add(1, kReceive, 9, model(1, 1))
      .add(2, kReceive, 9, model(1, 1))
      .add(3, kEnforce, 2, model(2, 2));
  auto decision = ballot.decide();
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  EXPECT_EQ(decision->revision, 2u);
  EXPECT_EQ(decision->entries[1].hash, hash(2));
  EXPECT_EQ(decision->entries[1].receivers, ids({1, 2}));
}

TEST(DecideRevision, EnforcePopularPeerAtAnotherRevisionWithThePopularBytesHoldsThem) {
  Ballot ballot;
  ballot.add(1, kEnforce, 3, model(1, 1))
      .add(2, kEnforce, 3, model(1, 1))
      .add(3, kEnforce, 8, model(1, 4));
  auto decision = ballot.decide();
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  EXPECT_EQ(decision->revision, 3u);
  EXPECT_EQ(decision->entries[0].holders, ids({1, 2, 3}));
  EXPECT_TRUE(decision->entries[0].receivers.empty());
  EXPECT_EQ(decision->entries[1].receivers, ids({3}));
}

TEST(DecideRevision, SendOnlyPeersMustAgreeOnTheRevision) {
  Ballot ballot;
  ballot.add(1, kSend, 4, model(1, 1))
      .add(2, kEnforce, 4, model(1, 1))
      .add(3, kSend, 5, model(1, 1));
  EXPECT_EQ(ballot.refusal(), "InvalidUsage: SEND_ONLY peers disagree on the revision: " + peer(1) +
                                  " presents 4, " + peer(3) + " presents 5");
}

TEST(DecideRevision, SendOnlyPeersMustHoldTheSameContent) {
  Ballot ballot;
  ballot.add(1, kSend, 4, model(1, 1)).add(2, kSend, 4, model(1, 1)).add(3, kSend, 4, model(1, 2));
  EXPECT_EQ(ballot.refusal(), "InvalidUsage: SEND_ONLY peers " + peer(1) + " and " + peer(3) +
                                  " hold different content of entry 'weights'");
}

TEST(DecideRevision, AgreeingSendOnlyPeersAreAllHolders) {
  Ballot ballot;
  ballot.add(1, kEnforce, 0, model(3, 3))
      .add(2, kSend, 4, model(1, 1))
      .add(3, kSend, 4, model(1, 1));
  auto decision = ballot.decide();
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  EXPECT_EQ(decision->revision, 4u);
  EXPECT_EQ(decision->entries[0].holders, ids({2, 3}));
  EXPECT_EQ(decision->entries[0].receivers, ids({1}));
}

TEST(DecideRevision, SendOnlyPeersMayDifferInUnequalEntries) {
  const uint8_t flag = protocol::kStateFlagAllowInequality;
  Ballot ballot;
  ballot.add(1, kSend, 4, {entry("rng", 1, 2, DType::kU64, flag), entry("w", 1)})
      .add(2, kSend, 4, {entry("rng", 2, 2, DType::kU64, flag), entry("w", 1)});
  auto decision = ballot.decide();
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  EXPECT_FALSE(decision->entries[0].compared);
}

TEST(DecideRevision, EveryPeerReceiveOnlyIsRefused) {
  const std::string expected =
      "InvalidUsage: every peer syncs RECEIVE_ONLY: no peer holds the shared state to send";
  Ballot ballot;
  ballot.add(1, kReceive, 0, model(1, 1)).add(2, kReceive, 3, model(1, 1));
  EXPECT_EQ(ballot.refusal(), expected);
  Ballot members_of_the_last;
  members_of_the_last.add(1, kReceive, 6, model(1, 1), true).add(2, kReceive, 6, model(1, 1), true);
  EXPECT_EQ(members_of_the_last.refusal(5), expected);
}

// ---- Content ---------------------------------------------------------------------

TEST(DecideContent, MajorityWinsThreeToOneToOne) {
  // The first voter is in the minority: the count decides, not the rank.
  Ballot ballot;
  ballot.add(1, kEnforce, 0, model(2, 1))
      .add(2, kEnforce, 0, model(1, 1))
      .add(3, kEnforce, 0, model(1, 1))
      .add(4, kEnforce, 0, model(3, 1))
      .add(5, kEnforce, 0, model(1, 1));
  auto decision = ballot.decide();
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  const EntryDecision& bias = decision->entries[0];
  EXPECT_TRUE(bias.compared);
  EXPECT_EQ(bias.hash, hash(1));
  EXPECT_EQ(bias.holders, ids({2, 3, 5}));
  EXPECT_EQ(bias.receivers, ids({1, 4}));
  EXPECT_EQ(decision->entries[1].holders, ids({1, 2, 3, 4, 5}));
  EXPECT_TRUE(decision->entries[1].receivers.empty());
}

TEST(DecideContent, TieGoesToTheEarliestVoter) {
  Ballot ballot;
  ballot.add(1, kEnforce, 0, model(1, 1))
      .add(2, kEnforce, 0, model(2, 2))
      .add(3, kEnforce, 0, model(2, 2))
      .add(4, kEnforce, 0, model(1, 1));
  auto decision = ballot.decide();
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  EXPECT_EQ(decision->entries[0].hash, hash(1));
  EXPECT_EQ(decision->entries[0].holders, ids({1, 4}));
  EXPECT_EQ(decision->entries[0].receivers, ids({2, 3}));
}

TEST(DecideContent, TieFollowsTheGivenOrderNotTheIds) {
  // The same votes with peer 2 ranked first: its content wins.
  Ballot ballot;
  ballot.add(2, kEnforce, 0, model(2, 2))
      .add(1, kEnforce, 0, model(1, 1))
      .add(3, kEnforce, 0, model(2, 2))
      .add(4, kEnforce, 0, model(1, 1));
  auto decision = ballot.decide();
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  EXPECT_EQ(decision->entries[0].hash, hash(2));
  EXPECT_EQ(decision->entries[0].holders, ids({2, 3}));
  EXPECT_EQ(decision->entries[0].receivers, ids({1, 4}));
}

TEST(DecideContent, TieGoesToTheEarliestCountedVoter) {
  // A RECEIVE_ONLY first voter does not count, so the tie is between 2 and 3.
  Ballot ballot;
  ballot.add(1, kReceive, 0, model(3, 3))
      .add(2, kEnforce, 0, model(2, 2))
      .add(3, kEnforce, 0, model(1, 1));
  auto decision = ballot.decide();
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  EXPECT_EQ(decision->entries[0].hash, hash(2));
  EXPECT_EQ(decision->entries[0].holders, ids({2}));
  EXPECT_EQ(decision->entries[0].receivers, ids({1, 3}));
}

TEST(DecideContent, ReceiveOnlyPeerWithThePopularBytesHoldsAndDoesNotReceive) {
  Ballot ballot;
  ballot.add(1, kEnforce, 4, model(1, 1))
      .add(2, kReceive, 0, model(1, 5))
      .add(3, kReceive, 0, model(2, 1))
      .add(4, kEnforce, 4, model(1, 1));
  auto decision = ballot.decide();
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  EXPECT_EQ(decision->revision, 4u);
  EXPECT_EQ(decision->entries[0].holders, ids({1, 2, 4}));
  EXPECT_EQ(decision->entries[0].receivers, ids({3}));
  EXPECT_EQ(decision->entries[1].holders, ids({1, 3, 4}));
  EXPECT_EQ(decision->entries[1].receivers, ids({2}));
}

TEST(DecideContent, EachEntryHasItsOwnMajority) {
  Ballot ballot;
  ballot.add(1, kEnforce, 0, model(1, 2))
      .add(2, kEnforce, 0, model(1, 2))
      .add(3, kEnforce, 0, model(2, 2))
      .add(4, kEnforce, 0, model(2, 3));
  auto decision = ballot.decide();
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  ASSERT_EQ(decision->entries.size(), 2u);
  EXPECT_EQ(decision->entries[0].name, "bias");
  EXPECT_EQ(decision->entries[0].hash, hash(1));  // 2-2 tie: voter 1's
  EXPECT_EQ(decision->entries[0].receivers, ids({3, 4}));
  EXPECT_EQ(decision->entries[1].name, "weights");
  EXPECT_EQ(decision->entries[1].hash, hash(2));
  EXPECT_EQ(decision->entries[1].receivers, ids({4}));
}

TEST(DecideContent, UnequalContentEntriesAreNotCompared) {
  const uint8_t flag = protocol::kStateFlagAllowInequality;
  Ballot ballot;
  ballot.add(1, kEnforce, 0, {entry("rng", 1, 4, DType::kU32, flag), entry("w", 1)})
      .add(2, kEnforce, 0, {entry("rng", 2, 4, DType::kU32, flag), entry("w", 2)})
      .add(3, kEnforce, 0, {entry("rng", 3, 4, DType::kU32, flag), entry("w", 2)});
  auto decision = ballot.decide();
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  const EntryDecision& rng = decision->entries[0];
  EXPECT_EQ(rng.name, "rng");
  EXPECT_FALSE(rng.compared);
  EXPECT_EQ(rng.bytes, 16u);
  EXPECT_EQ(rng.hash, StateHash{});
  EXPECT_TRUE(rng.holders.empty());
  EXPECT_TRUE(rng.receivers.empty());
  EXPECT_TRUE(decision->entries[1].compared);
  EXPECT_EQ(decision->entries[1].receivers, ids({1}));
}

TEST(DecideContent, BytesAreCountTimesDtypeSize) {
  Ballot ballot;
  std::vector<StateEntrySummary> entries = {
      entry("a", 1, 3, DType::kF64), entry("b", 1, 5, DType::kBF16), entry("c", 1, 7, DType::kU8),
      entry("d", 1, 0, DType::kF32), entry("e", 1, 1u << 20, DType::kI64)};
  ballot.add(1, kEnforce, 0, entries).add(2, kEnforce, 0, entries);
  auto decision = ballot.decide();
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  std::vector<uint64_t> bytes;
  for (const EntryDecision& e : decision->entries)
    bytes.push_back(e.bytes);
  EXPECT_EQ(bytes, (std::vector<uint64_t>{24, 10, 7, 0, uint64_t{8} << 20}));
}

TEST(DecideContent, ALoneVoterHoldsEverything) {
  Ballot ballot;
  ballot.add(1, kEnforce, 12, model(1, 2));
  auto decision = ballot.decide();
  ASSERT_TRUE(decision.isOk()) << decision.status().toString();
  EXPECT_EQ(decision->revision, 12u);
  EXPECT_EQ(decision->entries[0].holders, ids({1}));
  EXPECT_EQ(decision->entries[1].hash, hash(2));
  EXPECT_TRUE(decision->entries[1].receivers.empty());
}

// ---- splitNeeds ------------------------------------------------------------------

constexpr uint64_t kMiB = uint64_t{1} << 20;

StateTransfer transfer(uint32_t id_, uint32_t entry_, uint64_t offset, uint64_t bytes, uint8_t from,
                       uint8_t to) {
  return {id_, entry_, offset, bytes, id(from), id(to)};
}

// Ranges of one need, in order, cover [offset, offset + bytes) with no gap or overlap.
void expectCovers(const std::vector<StateTransfer>& transfers, uint64_t offset, uint64_t bytes) {
  uint64_t at = offset;
  for (const StateTransfer& t : transfers) {
    EXPECT_EQ(t.offset, at);
    EXPECT_GT(t.bytes, 0u);
    at += t.bytes;
  }
  EXPECT_EQ(at, offset + bytes);
}

TEST(SplitNeeds, TenMiBFromThreeSourcesOnPageBoundaries) {
  const Need need{id(9), 2, 0, 10 * kMiB, ids({1, 2, 3})};
  uint32_t next_id = 5;
  auto transfers = splitNeeds(std::span(&need, 1), next_id);
  // 10 MiB / 3 rounded down to 4 KiB: 853 pages; the last range takes the rest.
  const uint64_t step = 853 * 4096;
  EXPECT_EQ(transfers, (std::vector<StateTransfer>{
                           transfer(5, 2, 0, step, 1, 9),
                           transfer(6, 2, step, step, 2, 9),
                           transfer(7, 2, 2 * step, 10 * kMiB - 2 * step, 3, 9),
                       }));
  EXPECT_EQ(next_id, 8u);
}

TEST(SplitNeeds, SmallNeedComesFromTheFirstSourceWhole) {
  const Need need{id(9), 0, 0, 100 * 1024, ids({3, 1, 2})};
  uint32_t next_id = 0;
  auto transfers = splitNeeds(std::span(&need, 1), next_id);
  EXPECT_EQ(transfers, (std::vector<StateTransfer>{transfer(0, 0, 0, 100 * 1024, 3, 9)}));
  EXPECT_EQ(next_id, 1u);
}

TEST(SplitNeeds, RangesPerNeedGrowWithSizeInMiB) {
  // 2.5 MiB with four sources: two ranges (whole MiB), not four.
  const Need need{id(9), 0, 0, 5 * kMiB / 2, ids({1, 2, 3, 4})};
  uint32_t next_id = 0;
  auto transfers = splitNeeds(std::span(&need, 1), next_id);
  EXPECT_EQ(transfers, (std::vector<StateTransfer>{
                           transfer(0, 0, 0, 5 * kMiB / 4, 1, 9),
                           transfer(1, 0, 5 * kMiB / 4, 5 * kMiB / 4, 2, 9),
                       }));
}

TEST(SplitNeeds, AtMostMaxSourcesRanges) {
  const Need need{id(20), 1, 0, 64 * kMiB, ids({1, 2, 3, 4, 5, 6, 7, 8, 9, 10})};
  uint32_t next_id = 100;
  auto transfers = splitNeeds(std::span(&need, 1), next_id);
  ASSERT_EQ(transfers.size(), 8u);
  for (uint32_t r = 0; r < 8; ++r) {
    EXPECT_EQ(transfers[r],
              transfer(100 + r, 1, r * 8 * kMiB, 8 * kMiB, static_cast<uint8_t>(r + 1), 20));
  }
  EXPECT_EQ(next_id, 108u);

  SplitOptions three;
  three.max_sources = 3;
  next_id = 0;
  transfers = splitNeeds(std::span(&need, 1), next_id, three);
  ASSERT_EQ(transfers.size(), 3u);
  EXPECT_EQ(transfers[2].from, id(3));
  expectCovers(transfers, 0, 64 * kMiB);
}

TEST(SplitNeeds, ZeroMaxSourcesMeansOne) {
  const Need need{id(9), 0, 0, 4 * kMiB, ids({1, 2})};
  SplitOptions options;
  options.max_sources = 0;
  uint32_t next_id = 0;
  auto transfers = splitNeeds(std::span(&need, 1), next_id, options);
  EXPECT_EQ(transfers, (std::vector<StateTransfer>{transfer(0, 0, 0, 4 * kMiB, 1, 9)}));
}

TEST(SplitNeeds, IdsContinueAcrossNeedsAndSkipEmptyOnes) {
  const Need needs[] = {
      {id(7), 0, 0, 2 * kMiB, ids({1, 2})},
      {id(8), 1, 0, 0, ids({1})},  // nothing to send
      {id(8), 2, 0, 4096, {}},     // no source: left for the caller
      {id(8), 3, 4096, 8192, ids({2, 1})},
  };
  uint32_t next_id = 41;
  auto transfers = splitNeeds(needs, next_id);
  EXPECT_EQ(transfers, (std::vector<StateTransfer>{
                           transfer(41, 0, 0, kMiB, 1, 7),
                           transfer(42, 0, kMiB, kMiB, 2, 7),
                           transfer(43, 3, 4096, 8192, 2, 8),
                       }));
  EXPECT_EQ(next_id, 44u);
}

TEST(SplitNeeds, UnalignedSizeLastRangeTakesTheRest) {
  // 3 MiB + 1000 bytes at offset 5 pages, from two sources.
  const uint64_t offset = 5 * 4096;
  const uint64_t bytes = 3 * kMiB + 1000;
  const Need need{id(9), 4, offset, bytes, ids({1, 2})};
  uint32_t next_id = 0;
  auto transfers = splitNeeds(std::span(&need, 1), next_id);
  // (3 MiB + 1000) / 2 rounded down to a page is 1.5 MiB.
  const uint64_t step = 3 * kMiB / 2;
  EXPECT_EQ(transfers, (std::vector<StateTransfer>{
                           transfer(0, 4, offset, step, 1, 9),
                           transfer(1, 4, offset + step, bytes - step, 2, 9),
                       }));
  expectCovers(transfers, offset, bytes);
}

TEST(SplitNeeds, RangesNeverShrinkBelowTheAlignment) {
  // 10000 bytes in ranges of at least 1000, three sources: one page, one
  // page, and the rest; never a range under a page except the last.
  SplitOptions options;
  options.min_range_bytes = 1000;
  const Need need{id(9), 0, 0, 10000, ids({1, 2, 3})};
  uint32_t next_id = 0;
  auto transfers = splitNeeds(std::span(&need, 1), next_id, options);
  EXPECT_EQ(transfers, (std::vector<StateTransfer>{
                           transfer(0, 0, 0, 4096, 1, 9),
                           transfer(1, 0, 4096, 4096, 2, 9),
                           transfer(2, 0, 8192, 10000 - 8192, 3, 9),
                       }));
}

TEST(SplitNeeds, NeedSmallerThanAPageIsOneRangeWhatever) {
  // Fewer bytes than the alignment: one range though three sources could serve.
  SplitOptions options;
  options.min_range_bytes = 10;
  const Need need{id(9), 0, 12, 100, ids({1, 2, 3})};
  uint32_t next_id = 3;
  auto transfers = splitNeeds(std::span(&need, 1), next_id, options);
  EXPECT_EQ(transfers, (std::vector<StateTransfer>{transfer(3, 0, 12, 100, 1, 9)}));
  EXPECT_EQ(next_id, 4u);
}

TEST(SplitNeeds, OddSizesAlwaysCoverTheNeedExactly) {
  const uint64_t sizes[] = {1, 4095, 4097, kMiB - 1, kMiB + 1, 3 * kMiB + 7, 17 * kMiB + 12345};
  for (uint64_t bytes : sizes) {
    for (uint8_t sources = 1; sources <= 9; ++sources) {
      Need need{id(99), 0, 777, bytes, {}};
      for (uint8_t s = 1; s <= sources; ++s)
        need.sources.push_back(id(s));
      uint32_t next_id = 0;
      auto transfers = splitNeeds(std::span(&need, 1), next_id);
      SCOPED_TRACE(std::to_string(bytes) + " bytes, " + std::to_string(sources) + " sources");
      expectCovers(transfers, 777, bytes);
      EXPECT_LE(transfers.size(), std::min<size_t>(sources, 8));
      EXPECT_EQ(next_id, transfers.size());
      for (size_t r = 0; r < transfers.size(); ++r) {
        EXPECT_EQ(transfers[r].from, need.sources[r]);  // one range per source
        if (r + 1 < transfers.size()) {
          EXPECT_EQ(transfers[r].bytes % 4096, 0u);
        }
      }
    }
  }
}

}  // namespace
}  // namespace eccl::state
