// The master's stage bookkeeping alone (stage_book.h): a stage's life from
// active to lost, recovering and active again, driven call by call.
#include "src/membership/stage_book.h"

#include <gtest/gtest.h>

namespace eccl::membership {
namespace {

using State = StageBook::State;

// A pipeline of two stages, each bound by one registered peer whose group was accepted.
StageBook twoStages() {
  StageBook book;
  book.add("s0", 0, 2);
  book.add("s1", 1, 2);
  EXPECT_FALSE(book.accepted("s0"));
  EXPECT_FALSE(book.accepted("s1"));
  return book;
}

State stateOf(const StageBook& book, uint32_t stage) {
  const StageBook::Stage* record = book.find(stage);
  EXPECT_NE(record, nullptr) << "stage " << stage;
  return record != nullptr ? record->state : State::kActive;
}

TEST(StageBook, ALostStageIsRecoveringOnceAReplacementIsAccepted) {
  StageBook book = twoStages();
  EXPECT_EQ(book.remove(1, /*group_empty=*/true), std::optional<uint32_t>(1));
  EXPECT_EQ(stateOf(book, 1), State::kLost);
  book.add("s1", 1, 2);  // the replacement registers: still lost while pending
  EXPECT_EQ(stateOf(book, 1), State::kLost);
  EXPECT_TRUE(book.accepted("s1")) << "lost -> recovering";
  EXPECT_EQ(stateOf(book, 1), State::kRecovering);
  EXPECT_FALSE(book.accepted("s1")) << "recovering already: nothing changes";
  EXPECT_EQ(stateOf(book, 1), State::kRecovering) << "admission alone does not restore it";
  EXPECT_EQ(stateOf(book, 0), State::kActive);
}

TEST(StageBook, AnAnnouncementRestoresARecoveringStageOnce) {
  StageBook book = twoStages();
  book.remove(1, true);
  book.add("s1", 1, 2);
  book.accepted("s1");
  EXPECT_TRUE(book.announce(1));
  EXPECT_EQ(stateOf(book, 1), State::kActive);
  EXPECT_FALSE(book.announce(1)) << "a second announcement changes nothing";
  EXPECT_EQ(stateOf(book, 1), State::kActive);
}

TEST(StageBook, AnnouncingAStageThatWasNeverLostChangesNothing) {
  StageBook book = twoStages();
  EXPECT_FALSE(book.announce(0));
  EXPECT_EQ(stateOf(book, 0), State::kActive);
  EXPECT_FALSE(book.announce(1));
  EXPECT_FALSE(book.announce(-1)) << "no stage";
  EXPECT_FALSE(book.announce(7)) << "not in the book";
}

TEST(StageBook, AnnouncingALostStageDoesNotRestoreIt) {
  // The master asks only accepted peers, which makes a lost stage recovering
  // first; the book does not skip that step either.
  StageBook book = twoStages();
  book.remove(1, true);
  book.add("s1", 1, 2);
  EXPECT_FALSE(book.announce(1));
  EXPECT_EQ(stateOf(book, 1), State::kLost);
}

TEST(StageBook, ARecoveringStageWhosePeersAreAllGoneIsLostAgain) {
  StageBook book = twoStages();
  book.remove(1, true);
  book.add("s1", 1, 2);
  book.add("s1", 1, 2);
  book.accepted("s1");
  EXPECT_EQ(book.remove(1, /*group_empty=*/false), std::nullopt) << "one peer remains";
  EXPECT_EQ(stateOf(book, 1), State::kRecovering);
  EXPECT_EQ(book.remove(1, /*group_empty=*/true), std::optional<uint32_t>(1));
  EXPECT_EQ(stateOf(book, 1), State::kLost);
  EXPECT_FALSE(book.announce(1));
  // Another replacement: recovering, then restored by its announcement.
  book.add("s1", 1, 2);
  EXPECT_TRUE(book.accepted("s1"));
  EXPECT_EQ(stateOf(book, 1), State::kRecovering);
  EXPECT_TRUE(book.announce(1));
  EXPECT_EQ(stateOf(book, 1), State::kActive);
}

TEST(StageBook, AReplacementGoneBeforeAdmissionLeavesTheStageLostWithoutASecondLoss) {
  StageBook book = twoStages();
  book.remove(1, true);
  book.add("s1", 1, 2);
  EXPECT_EQ(book.remove(1, true), std::nullopt) << "lost already";
  EXPECT_EQ(stateOf(book, 1), State::kLost);
}

TEST(StageBook, StateNames) {
  EXPECT_STREQ(StageBook::stateName(State::kActive), "active");
  EXPECT_STREQ(StageBook::stateName(State::kLost), "lost");
  EXPECT_STREQ(StageBook::stateName(State::kRecovering), "recovering");
}

}  // namespace
}  // namespace eccl::membership
