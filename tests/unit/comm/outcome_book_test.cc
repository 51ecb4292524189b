// A peer's side of the agreement on an op's outcome (outcome_book.h): what it
// answers the master at each stage of an op, and the promise an answer makes.
#include "src/comm/outcome_book.h"

#include <gtest/gtest.h>

namespace eccl::comm {
namespace {

using protocol::OpProgress;
using protocol::OpRef;

TEST(OutcomeBook, AnswersFollowTheOpThroughItsStages) {
  OutcomeBook book;
  book.reset(5);
  const OpRef op{5, 1, 0};
  bool doomed = false;
  ASSERT_TRUE(book.begin(op));
  ASSERT_TRUE(book.complete(op));
  EXPECT_EQ(book.answer(op, &doomed), OpProgress::kComplete);
  EXPECT_FALSE(doomed);
  book.succeeded(op);
  EXPECT_EQ(book.answer(op, &doomed), OpProgress::kSucceeded);
  const OpRef failed{5, 2, 1};
  ASSERT_TRUE(book.begin(failed));
  book.failed(failed);
  EXPECT_EQ(book.answer(failed, &doomed), OpProgress::kIncomplete);
  EXPECT_FALSE(doomed);
}

TEST(OutcomeBook, AnsweringDoomsARunningOp) {
  OutcomeBook book;
  book.reset(5);
  const OpRef op{5, 1, 0};
  ASSERT_TRUE(book.begin(op));
  bool doomed = false;
  EXPECT_EQ(book.answer(op, &doomed), OpProgress::kIncomplete);
  EXPECT_TRUE(doomed);
  // Its data arriving now changes nothing: the master was told otherwise.
  EXPECT_FALSE(book.complete(op));
  EXPECT_EQ(book.answer(op, &doomed), OpProgress::kIncomplete);
  EXPECT_FALSE(doomed);
}

TEST(OutcomeBook, AnsweringDoomsAnOpThatHasNotStarted) {
  OutcomeBook book;
  book.reset(5);
  bool doomed = false;
  EXPECT_EQ(book.answer({5, 1, 3}, &doomed), OpProgress::kIncomplete);
  EXPECT_FALSE(doomed);  // nothing was running
  EXPECT_FALSE(book.begin({5, 1, 3}));
  EXPECT_TRUE(book.begin({5, 1, 4}));
}

TEST(OutcomeBook, ANewRevisionForgetsTheOldOne) {
  OutcomeBook book;
  book.reset(5);
  bool doomed = false;
  book.answer({5, 1, 0}, &doomed);
  book.reset(6);
  EXPECT_TRUE(book.begin({6, 1, 0}));
  EXPECT_EQ(book.answer({5, 1, 0}, &doomed), OpProgress::kIncomplete);
  EXPECT_FALSE(book.verdict({6, 1, 0}).has_value());
  book.setVerdict({6, 1, 0}, true);
  EXPECT_EQ(book.verdict({6, 1, 0}), true);
}

TEST(OutcomeBook, ForgottenOpsHadSucceeded) {
  OutcomeBook book;
  book.reset(1);
  const uint32_t total = OutcomeBook::kMaxEntries + 10;
  for (uint32_t i = 0; i < total; ++i) {
    ASSERT_TRUE(book.begin({1, 0, i}));
    ASSERT_TRUE(book.complete({1, 0, i}));
    book.succeeded({1, 0, i});
  }
  bool doomed = false;
  EXPECT_EQ(book.answer({1, 0, 0}, &doomed), OpProgress::kSucceeded);
  EXPECT_EQ(book.answer({1, 0, total - 1}, &doomed), OpProgress::kSucceeded);
  EXPECT_EQ(book.answer({1, 0, total}, &doomed), OpProgress::kIncomplete);  // not started
}

}  // namespace
}  // namespace eccl::comm
