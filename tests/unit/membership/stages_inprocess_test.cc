// Pipeline stages end to end, with a master and communicators in one process
// over loopback: a whole stage falls silent (its control connections go
// through a proxy that black-holes them: no Leave, no close), its neighbours
// hear STAGE_LOST within the loss detection deadline, a replacement's
// admission makes the stage RECOVERING (no event), it reads the metrics its
// neighbours reported, and its announcement brings STAGE_RESTORED with the
// announced round to every stage peer.
#include <gtest/gtest.h>

#include <optional>
#include <thread>

#include "tests/support/tcp_proxy.h"
#include "tests/unit/membership/inprocess_fixture.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

class StagePipeline : public InProcessCluster {
 protected:
  comm::Communicator& addStagePeer(const std::string& group, int32_t stage, uint16_t master_port) {
    comm::CommOptions options;
    options.master_host = "127.0.0.1";
    options.master_port = master_port;
    options.group = group;
    options.listen_host = "127.0.0.1";
    options.channel.connections = 1;
    options.stage = stage;
    options.num_stages = 3;
    auto comm = comm::Communicator::create(options);
    EXPECT_TRUE(comm) << comm.status().toString();
    peers_.push_back(std::move(*comm));
    return *peers_.back();
  }

  // A stage group of two accepted peers.
  std::vector<comm::Communicator*> stageGroup(int32_t stage, uint16_t master_port) {
    const std::string group = "stage-" + std::to_string(stage);
    auto& a = addStagePeer(group, stage, master_port);
    auto& b = addStagePeer(group, stage, master_port);
    EXPECT_TRUE(a.connect(deadline(10s)).isOk());
    admit({&a}, {&b});
    return {&a, &b};
  }

  // Waits for a stage event of `kind` (other events are skipped); when it
  // came. Its revision must be `revision` (the round of a restoration).
  static std::optional<SteadyClock::time_point> awaitStageEvent(comm::Communicator& comm,
                                                                comm::EventKind kind, int32_t stage,
                                                                SteadyClock::time_point until,
                                                                uint64_t revision = 0) {
    while (SteadyClock::now() < until) {
      while (auto event = comm.pollEvent()) {
        if (event->kind == kind) {
          EXPECT_EQ(event->stage, stage);
          EXPECT_TRUE(event->peer.isZero());
          EXPECT_EQ(event->revision, revision);
          return SteadyClock::now();
        }
      }
      std::this_thread::sleep_for(2ms);
    }
    return std::nullopt;
  }
};

TEST_F(StagePipeline, ASilentStageIsLostThenRestoredAndItsNeighboursMetricsAreKept) {
  const uint16_t master_port = master_options_.listen_port;
  TcpProxy proxy(master_port);  // only stage 1 reaches the master through it
  auto stage0 = stageGroup(0, master_port);
  auto stage1 = stageGroup(1, proxy.port());
  auto stage2 = stageGroup(2, master_port);
  auto& plain = addPeer("plain");  // no stage: hears no stage event
  ASSERT_TRUE(plain.connect(deadline(10s)).isOk());

  ASSERT_TRUE(stage0[0]->reportMetric(10, 1.25).isOk());
  ASSERT_TRUE(stage1[1]->reportMetric(9, 7.0).isOk());
  ASSERT_TRUE(stage2[1]->reportMetric(10, 3.5).isOk());
  // A reporter's own query follows its report on the same connection: once
  // answered, the master has the metric.
  for (auto [reporter, stage] : {std::pair{stage0[0], 0u}, {stage1[1], 1u}, {stage2[1], 2u}}) {
    auto info = reporter->stageInfo(stage, deadline(5s));
    ASSERT_TRUE(info) << info.status().toString();
    EXPECT_TRUE(info->has_metric) << "stage " << stage;
  }
  EXPECT_EQ(plain.reportMetric(1, 1.0).code(), Code::kInvalidUsage);

  // Stage 1 falls silent: no Leave, no closed connection; the master finds
  // out by the missed heartbeats (heartbeat 100 ms x miss limit 4).
  const std::vector<EndpointId> lost_ids = {stage1[0]->peerId(), stage1[1]->peerId()};
  const auto silent_at = SteadyClock::now();
  proxy.blackhole();
  const auto detection = master_options_.settings.heartbeat * master_options_.settings.miss_limit;
  const auto bound = detection + deadline(1s);
  for (auto* peer : {stage0[0], stage0[1], stage2[0], stage2[1]}) {
    auto heard = awaitStageEvent(*peer, comm::EventKind::kStageLost, 1, silent_at + deadline(10s));
    ASSERT_TRUE(heard) << "no STAGE_LOST(1) at peer " << peer->peerId().shortHex();
    EXPECT_LE(*heard - silent_at, bound);
    EXPECT_GE(*heard - silent_at, detection / 2)
        << "announced before the silence could have been noticed";
  }
  auto info = stage0[0]->stageInfo(1, deadline(5s));
  ASSERT_TRUE(info) << info.status().toString();
  EXPECT_EQ(info->state, protocol::StageState::kLost);
  EXPECT_EQ(info->group, "stage-1");
  EXPECT_EQ(info->accepted, 0u);

  // A replacement for stage 1 joins its (now empty) group: accepted at once,
  // which makes the stage recovering, not restored: no event yet.
  auto& fresh = addStagePeer("stage-1", 1, master_port);
  ASSERT_TRUE(fresh.connect(deadline(10s)).isOk());
  auto recovering = fresh.stageInfo(1, deadline(5s));
  ASSERT_TRUE(recovering) << recovering.status().toString();
  EXPECT_EQ(recovering->state, protocol::StageState::kRecovering);
  EXPECT_EQ(recovering->accepted, 1u);
  for (auto* peer : {stage0[0], stage0[1], stage2[0], stage2[1], &fresh}) {
    // An event sent at the admission would precede the answer to this
    // peer's own query on its connection.
    auto seen = peer->stageInfo(1, deadline(5s));
    ASSERT_TRUE(seen) << seen.status().toString();
    EXPECT_EQ(seen->state, protocol::StageState::kRecovering);
    while (auto event = peer->pollEvent()) {
      EXPECT_NE(event->kind, comm::EventKind::kStageRestored)
          << "STAGE_RESTORED before any announcement, at peer " << peer->peerId().shortHex();
    }
  }
  // It reads what its neighbours reported, and its own stage's last metric.
  auto prev = fresh.stageInfo(0, deadline(5s));
  auto next = fresh.stageInfo(2, deadline(5s));
  auto self = fresh.stageInfo(1, deadline(5s));
  ASSERT_TRUE(prev && next && self);
  EXPECT_EQ(prev->state, protocol::StageState::kActive);
  EXPECT_EQ(prev->group, "stage-0");
  EXPECT_EQ(prev->accepted, 2u);
  EXPECT_TRUE(prev->has_metric);
  EXPECT_EQ(prev->metric_round, 10u);
  EXPECT_EQ(prev->metric, 1.25);
  EXPECT_EQ(prev->metric_peer, stage0[0]->peerId());
  EXPECT_EQ(next->metric, 3.5);
  EXPECT_EQ(next->metric_peer, stage2[1]->peerId());
  EXPECT_EQ(self->state, protocol::StageState::kRecovering);
  EXPECT_EQ(self->accepted, 1u);
  EXPECT_EQ(self->metric_round, 9u);
  EXPECT_EQ(self->metric, 7.0);
  EXPECT_EQ(self->metric_peer, lost_ids[1]);

  // With the weights rebuilt, it announces the round the stage trains from:
  // every stage peer hears STAGE_RESTORED(1) with that round.
  const auto announced_at = SteadyClock::now();
  auto restored = fresh.announceStageRecovered(7, deadline(5s));
  ASSERT_TRUE(restored) << restored.status().toString();
  EXPECT_EQ(restored->stage, 1u);
  EXPECT_EQ(restored->state, protocol::StageState::kActive);
  EXPECT_EQ(restored->group, "stage-1");
  EXPECT_EQ(restored->accepted, 1u);
  for (auto* peer : {stage0[0], stage0[1], stage2[0], stage2[1], &fresh}) {
    EXPECT_TRUE(
        awaitStageEvent(*peer, comm::EventKind::kStageRestored, 1, announced_at + deadline(10s), 7))
        << "no STAGE_RESTORED(1) at peer " << peer->peerId().shortHex();
  }
  // Announcing again (the stage is active) changes nothing.
  auto again = fresh.announceStageRecovered(8, deadline(5s));
  ASSERT_TRUE(again) << again.status().toString();
  EXPECT_EQ(again->state, protocol::StageState::kActive);
  auto after = stage0[0]->stageInfo(1, deadline(5s));  // on the connection after any event
  ASSERT_TRUE(after);
  EXPECT_EQ(after->state, protocol::StageState::kActive);
  while (auto event = stage0[0]->pollEvent())
    EXPECT_NE(event->kind, comm::EventKind::kStageRestored) << "a second restoration";
  // Misuse is refused before anything is sent.
  auto no_stage = plain.announceStageRecovered(1, deadline(5s));
  ASSERT_FALSE(no_stage);
  EXPECT_EQ(no_stage.status().code(), Code::kInvalidUsage);

  while (auto event = plain.pollEvent()) {
    EXPECT_NE(event->kind, comm::EventKind::kStageLost);
    EXPECT_NE(event->kind, comm::EventKind::kStageRestored);
  }
  peers_.clear();  // before the proxy: stage 1's comms still talk through it
}

TEST_F(StagePipeline, ARegistrationThatConflictsWithThePipelineIsRefused) {
  auto& first = addStagePeer("stage-0", 0, master_options_.listen_port);
  ASSERT_TRUE(first.connect(deadline(10s)).isOk());
  auto& wrong = addStagePeer("other", 0, master_options_.listen_port);
  Status status = wrong.connect(deadline(10s));
  EXPECT_EQ(status.code(), Code::kInvalidUsage);
  EXPECT_NE(status.message().find("pipeline stage 0 is held by group 'stage-0', not 'other'"),
            std::string::npos)
      << status.toString();
}

}  // namespace
}  // namespace eccl::test
