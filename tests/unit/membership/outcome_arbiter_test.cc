// The master's verdicts on a collective's outcome (outcome_arbiter.h): every
// way an inquiry can end, and who hears what.
#include "src/membership/outcome_arbiter.h"

#include <gtest/gtest.h>

#include <vector>

namespace eccl::membership {
namespace {

using protocol::OpDecision;
using protocol::OpProgress;
using protocol::OpRef;

EndpointId id(uint8_t fill) {
  EndpointId out;
  out.bytes.fill(fill);
  return out;
}

class OutcomeArbiterTest : public ::testing::Test {
 protected:
  const std::vector<EndpointId> members_ = {id(1), id(2), id(3), id(4)};
  const OpRef op_{7, 42, 3};
  OutcomeArbiter arbiter_;
  std::vector<OutcomeArbiter::Message> out_;

  void report(uint8_t from, OpProgress progress, OpRef op = {7, 42, 3}) {
    arbiter_.onReport("g", 7, members_, id(from), {op, progress}, out_);
  }
  // What `to` was told (in order), and the messages cleared.
  std::vector<OpDecision> told(uint8_t to) {
    std::vector<OpDecision> decisions;
    for (const auto& m : out_) {
      if (m.to == id(to)) decisions.push_back(m.verdict.decision);
    }
    return decisions;
  }
};

TEST_F(OutcomeArbiterTest, AQuestionAsksEveryOtherMemberOnce) {
  report(1, OpProgress::kComplete);
  EXPECT_TRUE(told(1).empty());
  for (uint8_t other : {2, 3, 4})
    EXPECT_EQ(told(other), std::vector<OpDecision>{OpDecision::kQuery});
  for (const auto& m : out_)
    EXPECT_EQ(m.verdict.op, op_);
  EXPECT_EQ(arbiter_.openInquiries(), 1u);
  out_.clear();
  report(1, OpProgress::kComplete);  // asked again (e.g. a resend): nobody is asked twice
  EXPECT_TRUE(out_.empty());
}

TEST_F(OutcomeArbiterTest, EveryMemberCompleteIsASuccessForAll) {
  report(1, OpProgress::kComplete);
  report(2, OpProgress::kComplete);
  report(3, OpProgress::kComplete);
  out_.clear();
  report(4, OpProgress::kComplete);
  for (uint8_t member : {1, 2, 3, 4})
    EXPECT_EQ(told(member), std::vector<OpDecision>{OpDecision::kSucceeded});
  EXPECT_EQ(arbiter_.openInquiries(), 0u);
}

TEST_F(OutcomeArbiterTest, OneIncompleteMemberFailsItAtOnce) {
  report(1, OpProgress::kComplete);
  out_.clear();
  report(3, OpProgress::kIncomplete);
  for (uint8_t member : {1, 2, 3, 4})
    EXPECT_EQ(told(member), std::vector<OpDecision>{OpDecision::kFailed});
  // Later answers and questions hear the same verdict.
  out_.clear();
  report(2, OpProgress::kComplete);
  EXPECT_EQ(told(2), std::vector<OpDecision>{OpDecision::kFailed});
}

TEST_F(OutcomeArbiterTest, OneSucceededMemberDecidesASuccess) {
  report(1, OpProgress::kComplete);
  out_.clear();
  report(4, OpProgress::kSucceeded);
  for (uint8_t member : {1, 2, 3, 4})
    EXPECT_EQ(told(member), std::vector<OpDecision>{OpDecision::kSucceeded});
}

TEST_F(OutcomeArbiterTest, DepartedMembersAreNotWaitedFor) {
  report(1, OpProgress::kComplete);
  report(2, OpProgress::kComplete);
  out_.clear();
  arbiter_.onDeparted("g", id(3), out_);
  EXPECT_TRUE(out_.empty());
  arbiter_.onDeparted("other-group", id(4), out_);
  EXPECT_TRUE(out_.empty());
  arbiter_.onDeparted("g", id(4), out_);
  EXPECT_EQ(told(1), std::vector<OpDecision>{OpDecision::kSucceeded});
  EXPECT_EQ(told(2), std::vector<OpDecision>{OpDecision::kSucceeded});
  EXPECT_TRUE(told(3).empty());  // gone: not told
  EXPECT_TRUE(told(4).empty());
}

TEST_F(OutcomeArbiterTest, OpsOfAnotherRevisionOrGroupAreSeparate) {
  report(1, OpProgress::kComplete);
  out_.clear();
  // A stale revision is failed for the asker alone.
  report(2, OpProgress::kComplete, {6, 42, 3});
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_EQ(out_[0].to, id(2));
  EXPECT_EQ(out_[0].verdict.decision, OpDecision::kFailed);
  out_.clear();
  // Another index of the same revision is another inquiry.
  report(2, OpProgress::kComplete, {7, 42, 4});
  EXPECT_EQ(told(1), std::vector<OpDecision>{OpDecision::kQuery});
  EXPECT_EQ(arbiter_.openInquiries(), 2u);
  // A commit fails what is still open of older revisions.
  out_.clear();
  arbiter_.onCommit("g", 8, out_);
  EXPECT_EQ(arbiter_.openInquiries(), 0u);
  EXPECT_EQ(told(1), (std::vector<OpDecision>{OpDecision::kFailed, OpDecision::kFailed}));
}

TEST_F(OutcomeArbiterTest, OpenInquiriesAreBounded) {
  for (uint32_t i = 0; i < OutcomeArbiter::kMaxOpenInquiries; ++i)
    report(1, OpProgress::kComplete, {7, 1, i});
  out_.clear();
  report(1, OpProgress::kComplete, {7, 2, 0});
  ASSERT_EQ(out_.size(), 1u);
  EXPECT_EQ(out_[0].verdict.decision, OpDecision::kFailed);
  EXPECT_EQ(arbiter_.openInquiries(), OutcomeArbiter::kMaxOpenInquiries);
}

}  // namespace
}  // namespace eccl::membership
