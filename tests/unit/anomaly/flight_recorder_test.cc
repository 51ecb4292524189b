// anomaly::FlightRecorder: what it keeps, what it drops, how an op's progress
// and end show in its records, and the text of a record.
#include "src/anomaly/flight_recorder.h"

#include <gtest/gtest.h>

#include <chrono>

namespace eccl::anomaly {
namespace {

using coll::OpPhase;

TEST(FlightRecorder, FollowsAnOpFromSubmissionToItsEnd) {
  FlightRecorder recorder(8);
  auto op = recorder.submitted("allReduce", 7);
  std::vector<OpRecord> ops = recorder.snapshot();
  ASSERT_EQ(ops.size(), 1u);
  EXPECT_EQ(ops[0].name, "allReduce");
  EXPECT_EQ(ops[0].tag, 7u);
  EXPECT_EQ(ops[0].sequence, OpRecord::kNotStarted);
  EXPECT_EQ(ops[0].phase, OpPhase::kQueued);
  EXPECT_TRUE(ops[0].running());
  EXPECT_NE(ops[0].submitted, WallClock::time_point{});
  EXPECT_EQ(ops[0].started, WallClock::time_point{});

  const EndpointId prev = EndpointId::random();
  const EndpointId next = EndpointId::random();
  recorder.started(*op, 12);
  recorder.ranOn(*op, 4, 1, 3, prev, next);
  op->progress.setPhase(OpPhase::kData);
  op->progress.addSent(1000);
  op->progress.addReceived(500);
  op->progress.addWait(/*on_prev=*/true, std::chrono::milliseconds(30), /*for_header=*/false);
  op->progress.addWait(/*on_prev=*/false, std::chrono::milliseconds(2), /*for_header=*/true);
  ops = recorder.snapshot();
  EXPECT_EQ(ops[0].sequence, 12u);
  EXPECT_EQ(ops[0].phase, OpPhase::kData);
  EXPECT_EQ(ops[0].revision, 4u);
  EXPECT_EQ(ops[0].rank, 1);
  EXPECT_EQ(ops[0].world_size, 3u);
  EXPECT_EQ(ops[0].prev, prev);
  EXPECT_EQ(ops[0].next, next);
  EXPECT_EQ(ops[0].bytes_sent, 1000u);
  EXPECT_EQ(ops[0].bytes_received, 500u);
  EXPECT_EQ(ops[0].wait_prev, std::chrono::milliseconds(30));
  EXPECT_EQ(ops[0].wait_next, std::chrono::milliseconds(2));
  EXPECT_TRUE(ops[0].status.isOk());

  // The op's own byte count wins where it is larger (ops that report no progress).
  recorder.ended(*op, timeoutError("took too long"), 4000, 0);
  recorder.ended(*op, Status::ok());  // the first end stays
  ops = recorder.snapshot();
  EXPECT_FALSE(ops[0].running());
  EXPECT_EQ(ops[0].phase, OpPhase::kDone);
  EXPECT_EQ(ops[0].status.code(), Code::kTimeout);
  EXPECT_EQ(ops[0].bytes_sent, 4000u);
  EXPECT_EQ(ops[0].bytes_received, 500u);
  EXPECT_GE(ops[0].finished, ops[0].started);
}

TEST(FlightRecorder, DropsTheOldestEndedOpAndKeepsRunningOnes) {
  FlightRecorder recorder(3);
  auto running = recorder.submitted("broadcast", 1);
  auto ended_a = recorder.submitted("allGather", 2);
  auto ended_b = recorder.submitted("barrier", 3);
  recorder.ended(*ended_a, Status::ok());
  recorder.ended(*ended_b, Status::ok());
  recorder.submitted("allReduce", 4);
  std::vector<OpRecord> ops = recorder.snapshot();
  ASSERT_EQ(ops.size(), 3u);
  EXPECT_EQ(ops[0].tag, 1u);  // running: kept although oldest
  EXPECT_EQ(ops[1].tag, 3u);
  EXPECT_EQ(ops[2].tag, 4u);

  // Every op running: the oldest goes.
  FlightRecorder full(2);
  auto a = full.submitted("a", 1);
  auto b = full.submitted("b", 2);
  full.submitted("c", 3);
  ops = full.snapshot();
  ASSERT_EQ(ops.size(), 2u);
  EXPECT_EQ(ops[0].tag, 2u);
  EXPECT_EQ(ops[1].tag, 3u);
  full.ended(*a, Status::ok());  // an op no longer recorded may still end
}

TEST(FlightRecorder, DescribesAnOpOnOneLine) {
  FlightRecorder recorder(4);
  auto op = recorder.submitted("allReduce", 3);
  const EndpointId prev = EndpointId::random();
  const EndpointId next = EndpointId::random();
  recorder.started(*op, 5);
  recorder.ranOn(*op, 2, 0, 4, prev, next);
  op->progress.setPhase(OpPhase::kHeaders);
  op->progress.addSent(3 << 20);
  op->progress.addWait(true, std::chrono::milliseconds(1500), false);
  std::string line = describeOp(recorder.snapshot()[0], WallClock::now());
  EXPECT_NE(line.find("#5 allReduce tag 3 rev 2 rank 0/4 headers, running for"), std::string::npos)
      << line;
  EXPECT_NE(line.find("sent 3.0 MiB to " + next.shortHex()), std::string::npos) << line;
  EXPECT_NE(line.find("waited 1500 ms on " + prev.shortHex()), std::string::npos) << line;
  recorder.ended(*op, Status(Code::kPeerLost, "peer gone"));
  line = describeOp(recorder.snapshot()[0], WallClock::now());
  EXPECT_NE(line.find("peer gone"), std::string::npos) << line;
  EXPECT_EQ(line.find("running"), std::string::npos) << line;
}

}  // namespace
}  // namespace eccl::anomaly
