// The master's pipeline stages (stage_book.h, master_stages.cc), driven frame
// by frame with a fake clock: binding groups to stages, conflicts, STAGE_LOST
// events, recovering stages and the announcements that restore them
// (STAGE_RESTORED with the announced round), metrics and stage queries.
#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "src/membership/master_state.h"
#include "src/protocol/messages.h"

namespace eccl::membership {
namespace {

using namespace std::chrono_literals;
using protocol::MessageType;
using protocol::StageEventKind;
using protocol::StageState;

struct Inbox {
  std::vector<protocol::Topology> topologies;
  std::vector<protocol::StageEvent> stage_events;
  std::vector<protocol::StageInfo> infos;
};

class Pipeline {
 public:
  Pipeline() : state_(settings()) {}

  static MasterSettings settings() {
    MasterSettings s;
    s.heartbeat = 100ms;
    s.miss_limit = 3;
    s.channel_setup_timeout = 1s;
    s.token_key = randomTokenKey();
    return s;
  }

  Result<EndpointId> tryJoin(const std::string& group, int32_t stage, uint32_t num_stages) {
    protocol::Register request;
    request.peer = EndpointId::random();
    request.group = group;
    request.host = "127.0.0.1";
    request.data_port = 1000;
    request.stage = stage;
    request.num_stages = num_stages;
    const ConnectionId connection = ++last_connection_;
    auto id = state_.onRegister(connection, request, std::nullopt, now, out_);
    if (id.isOk()) connections_[request.peer] = connection;
    deliver();
    return id;
  }
  EndpointId join(const std::string& group, int32_t stage = -1, uint32_t num_stages = 0) {
    auto id = tryJoin(group, stage, num_stages);
    EXPECT_TRUE(id.isOk()) << id.status().toString();
    return id.isOk() ? *id : EndpointId();
  }
  // Every member of the latest topology reports its channels up: a commit.
  void ready(const std::vector<EndpointId>& members) {
    const uint64_t revision = inbox(members.front()).topologies.back().revision;
    for (const auto& peer : members)
      EXPECT_TRUE(state_.onChannelsReady(peer, {revision}, now, out_).isOk());
    deliver();
  }
  // A group of fresh peers whose first ring is committed.
  std::vector<EndpointId> stageGroup(const std::string& group, int32_t stage, uint32_t num_stages,
                                     size_t peers) {
    std::vector<EndpointId> ids;
    ids.push_back(join(group, stage, num_stages));
    ready({ids[0]});
    for (size_t i = 1; i < peers; ++i)
      ids.push_back(join(group, stage, num_stages));
    if (peers > 1) {
      EXPECT_TRUE(
          state_.onVote(ids[0], {inbox(ids[0]).topologies.back().revision}, now, out_).isOk());
      deliver();
      ready(ids);
    }
    return ids;
  }
  // The first accepted peer of `peer`'s group votes to admit the pending ones.
  bool vote(const EndpointId& peer) {
    Status status = state_.onVote(peer, {inbox(peer).topologies.back().revision}, now, out_);
    deliver();
    return status.isOk();
  }
  void disconnect(const EndpointId& peer) {
    state_.onConnectionClosed(peer, connections_.at(peer), now, out_);
    deliver();
  }
  void leave(const EndpointId& peer) {
    state_.onLeave(peer, now, out_);
    deliver();
  }
  // Everyone but `silent` keeps beating while the clock passes the miss limit.
  void silence(const std::vector<EndpointId>& silent) {
    now += 350ms;
    for (const auto& [peer, connection] : connections_) {
      if (std::find(silent.begin(), silent.end(), peer) != silent.end()) continue;
      (void)state_.onHeartbeat(peer, {1, 0}, now, out_);
    }
    state_.tick(now, out_);
    deliver();
  }
  Status metric(const EndpointId& peer, uint64_t round, double value) {
    Status status = state_.onStageMetric(peer, {round, value}, out_);
    deliver();
    return status;
  }
  // A stage peer's announcement that it holds its stage's weights again; the
  // master's answer lands in its inbox (answer()).
  Status announce(const EndpointId& peer, uint64_t round) {
    const size_t answers = inbox(peer).infos.size();
    Status status = state_.onStageAnnounce(peer, {++last_request_, round}, out_);
    deliver();
    EXPECT_EQ(inbox(peer).infos.size(), answers + (status.isOk() ? 1 : 0))
        << "one answer to an accepted announcement, none to a refused one";
    return status;
  }
  protocol::StageInfo answer(const EndpointId& peer) {
    const auto& infos = inbox(peer).infos;
    EXPECT_FALSE(infos.empty());
    if (infos.empty()) return {};
    EXPECT_EQ(infos.back().request, last_request_);
    return infos.back();
  }
  protocol::StageInfo query(const EndpointId& asker, uint32_t stage) {
    EXPECT_TRUE(state_.onStageQuery(asker, {++last_request_, stage}, out_).isOk());
    deliver();
    const auto& infos = inbox(asker).infos;
    EXPECT_FALSE(infos.empty());
    if (infos.empty()) return {};
    EXPECT_EQ(infos.back().request, last_request_);
    return infos.back();
  }
  Inbox& inbox(const EndpointId& peer) { return inboxes_[connections_.at(peer)]; }
  MasterSnapshot snapshot() const { return state_.snapshot(now); }

  Clock::time_point now = Clock::time_point() + 1h;

 private:
  void deliver() {
    for (auto& item : out_) {
      if (item.frame.empty()) continue;
      auto header = protocol::decodeFrameHeader(item.frame);
      ASSERT_TRUE(header.isOk());
      std::span<const uint8_t> payload(item.frame.data() + protocol::kFrameHeaderSize,
                                       header->length);
      Inbox& box = inboxes_[item.connection];
      if (header->type == MessageType::kTopology) {
        box.topologies.push_back(*protocol::decodeMessage<protocol::Topology>(payload));
      } else if (header->type == MessageType::kStageEvent) {
        auto event = protocol::decodeMessage<protocol::StageEvent>(payload);
        ASSERT_TRUE(event.isOk()) << event.status().toString();
        box.stage_events.push_back(*event);
      } else if (header->type == MessageType::kStageInfo) {
        auto info = protocol::decodeMessage<protocol::StageInfo>(payload);
        ASSERT_TRUE(info.isOk()) << info.status().toString();
        box.infos.push_back(*info);
      }
    }
    out_.clear();
  }

  MasterState state_;
  Outbox out_;
  ConnectionId last_connection_ = 0;
  uint64_t last_request_ = 0;
  std::map<EndpointId, ConnectionId> connections_;
  std::map<ConnectionId, Inbox> inboxes_;
};

// The stage events a peer received, as "lost 1 s1" and "restored 1 s1 @7"
// (the announced round) strings, in order.
std::vector<std::string> events(Pipeline& p, const EndpointId& peer) {
  std::vector<std::string> out;
  for (const auto& e : p.inbox(peer).stage_events) {
    if (e.kind == StageEventKind::kLost) {
      EXPECT_EQ(e.round, 0u) << "a lost stage has no round";
      out.push_back("lost " + std::to_string(e.stage) + " " + e.group);
    } else {
      out.push_back("restored " + std::to_string(e.stage) + " " + e.group + " @" +
                    std::to_string(e.round));
    }
  }
  return out;
}

struct ThreeStages {
  Pipeline p;
  std::vector<EndpointId> s0 = p.stageGroup("s0", 0, 3, 2);
  std::vector<EndpointId> s1 = p.stageGroup("s1", 1, 3, 2);
  std::vector<EndpointId> s2 = p.stageGroup("s2", 2, 3, 2);
  EndpointId other = p.join("other");  // a group that is no stage
  // Everyone who should hear of stage events: stages 0 and 2.
  std::vector<EndpointId> neighbours() const { return {s0[0], s0[1], s2[0], s2[1]}; }
};

TEST(MasterStages, LostWhenTheLastPeerIsKilledNotBefore) {
  ThreeStages t;
  t.p.disconnect(t.s1[0]);
  for (const auto& peer : t.neighbours())
    EXPECT_TRUE(events(t.p, peer).empty()) << "one peer of stage 1 remains";
  EXPECT_TRUE(events(t.p, t.s1[1]).empty());
  EXPECT_EQ(t.p.snapshot().stages[1].state, StageBook::State::kActive);

  t.p.silence({t.s1[1]});  // the last one stops beating: lost by the miss limit
  for (const auto& peer : t.neighbours())
    EXPECT_EQ(events(t.p, peer), std::vector<std::string>{"lost 1 s1"});
  EXPECT_TRUE(events(t.p, t.other).empty()) << "a group without a stage hears nothing";
  const MasterSnapshot s = t.p.snapshot();
  EXPECT_EQ(s.counters.stages_lost, 1u);
  EXPECT_EQ(s.pipeline_stages, 3u);
  ASSERT_EQ(s.stages.size(), 3u);
  EXPECT_EQ(s.stages[1].group, "s1");
  EXPECT_EQ(s.stages[1].state, StageBook::State::kLost);
  EXPECT_EQ(s.stages[1].accepted, 0u);
  EXPECT_EQ(s.stages[0].state, StageBook::State::kActive);
}

TEST(MasterStages, LostOnGracefulLeave) {
  ThreeStages t;
  t.p.leave(t.s2[0]);
  t.p.leave(t.s2[1]);
  for (const auto& peer : {t.s0[0], t.s0[1], t.s1[0], t.s1[1]})
    EXPECT_EQ(events(t.p, peer), std::vector<std::string>{"lost 2 s2"});
  EXPECT_EQ(t.p.query(t.other, 2).state, StageState::kLost);
}

TEST(MasterStages, PendingStagePeersHearEventsToo) {
  ThreeStages t;
  const EndpointId waiting = t.p.join("s0", 0, 3);  // pending: the ring has not voted
  t.p.disconnect(t.s1[0]);
  t.p.disconnect(t.s1[1]);
  EXPECT_EQ(events(t.p, waiting), std::vector<std::string>{"lost 1 s1"});
}

TEST(MasterStages, AnAcceptedReplacementMakesALostStageRecoveringNotRestored) {
  ThreeStages t;
  t.p.disconnect(t.s1[0]);
  t.p.disconnect(t.s1[1]);
  // A replacement registers: its empty group sets up a ring at once, but it
  // is not accepted (nor the stage recovering) until its channels are up.
  const EndpointId fresh = t.p.join("s1", 1, 3);
  EXPECT_EQ(events(t.p, t.s0[0]), std::vector<std::string>{"lost 1 s1"});
  EXPECT_EQ(t.p.query(t.other, 1).state, StageState::kLost);
  t.p.ready({fresh});
  // Accepted: no event yet, it has still to rebuild the stage's weights.
  for (const auto& peer : t.neighbours())
    EXPECT_EQ(events(t.p, peer), std::vector<std::string>{"lost 1 s1"});
  EXPECT_TRUE(events(t.p, fresh).empty());
  const auto info = t.p.query(t.s0[0], 1);
  EXPECT_EQ(info.state, StageState::kRecovering);
  EXPECT_EQ(info.group, "s1");
  EXPECT_EQ(info.accepted, 1u);
  const MasterSnapshot s = t.p.snapshot();
  EXPECT_EQ(s.stages[1].state, StageBook::State::kRecovering);
  EXPECT_EQ(s.stages[1].accepted, 1u);
  EXPECT_EQ(s.counters.stages_restored, 0u);
}

TEST(MasterStages, TheReplacementsAnnouncementRestoresTheStageWithItsRound) {
  ThreeStages t;
  const EndpointId waiting = t.p.join("s2", 2, 3);  // pending in stage 2's group
  t.p.disconnect(t.s1[0]);
  t.p.disconnect(t.s1[1]);
  const EndpointId fresh = t.p.join("s1", 1, 3);
  t.p.ready({fresh});
  ASSERT_TRUE(t.p.announce(fresh, 7).isOk());
  const std::vector<std::string> both = {"lost 1 s1", "restored 1 s1 @7"};
  for (const auto& peer : t.neighbours())
    EXPECT_EQ(events(t.p, peer), both);
  EXPECT_EQ(events(t.p, waiting), both) << "pending stage peers hear it too";
  EXPECT_EQ(events(t.p, fresh), std::vector<std::string>{"restored 1 s1 @7"});
  EXPECT_TRUE(events(t.p, t.other).empty()) << "a group without a stage hears nothing";
  const auto answer = t.p.answer(fresh);
  EXPECT_EQ(answer.stage, 1u);
  EXPECT_EQ(answer.state, StageState::kActive);
  EXPECT_EQ(answer.group, "s1");
  EXPECT_EQ(answer.accepted, 1u);
  EXPECT_EQ(t.p.query(t.other, 1).state, StageState::kActive);
  MasterSnapshot s = t.p.snapshot();
  EXPECT_EQ(s.stages[1].state, StageBook::State::kActive);
  EXPECT_EQ(s.counters.stages_restored, 1u);
  EXPECT_EQ(s.counters.stage_announcements, 1u);

  // A second announcement (the same peer, or another of the group) changes nothing.
  const EndpointId second = t.p.join("s1", 1, 3);
  ASSERT_TRUE(t.p.vote(fresh));
  t.p.ready({fresh, second});
  ASSERT_TRUE(t.p.announce(fresh, 9).isOk());
  ASSERT_TRUE(t.p.announce(second, 8).isOk());
  EXPECT_EQ(t.p.answer(second).state, StageState::kActive);
  EXPECT_EQ(t.p.answer(second).accepted, 2u);
  for (const auto& peer : t.neighbours())
    EXPECT_EQ(events(t.p, peer), both);
  s = t.p.snapshot();
  EXPECT_EQ(s.counters.stages_restored, 1u);
  EXPECT_EQ(s.counters.stage_announcements, 3u);
}

TEST(MasterStages, AnnouncingAStageThatWasNeverLostChangesNothing) {
  ThreeStages t;
  ASSERT_TRUE(t.p.announce(t.s0[1], 4).isOk());
  const auto answer = t.p.answer(t.s0[1]);
  EXPECT_EQ(answer.stage, 0u);
  EXPECT_EQ(answer.state, StageState::kActive);
  EXPECT_EQ(answer.accepted, 2u);
  for (const auto& peer : t.neighbours())
    EXPECT_TRUE(events(t.p, peer).empty());
  EXPECT_EQ(t.p.snapshot().counters.stages_restored, 0u);
}

TEST(MasterStages, AnnouncementsOfPeersWithoutAStageOrNotAcceptedAreMisuse) {
  ThreeStages t;
  t.p.disconnect(t.s1[0]);
  t.p.disconnect(t.s1[1]);
  Status plain = t.p.announce(t.other, 1);
  EXPECT_EQ(plain.code(), Code::kInvalidUsage);
  EXPECT_EQ(plain.message(), "peer " + t.other.shortHex() +
                                 " of group 'other' is not a pipeline stage: it has no stage to "
                                 "announce recovered");
  // A replacement whose ring is set up but not committed is not accepted yet.
  const EndpointId fresh = t.p.join("s1", 1, 3);
  Status pending = t.p.announce(fresh, 1);
  EXPECT_EQ(pending.code(), Code::kInvalidUsage);
  EXPECT_EQ(pending.message(), "peer " + fresh.shortHex() +
                                   " announced stage 1 recovered before it was accepted into "
                                   "group 's1'");
  EXPECT_EQ(t.p.query(t.other, 1).state, StageState::kLost);
  for (const auto& peer : t.neighbours())
    EXPECT_EQ(events(t.p, peer), std::vector<std::string>{"lost 1 s1"});
  EXPECT_EQ(t.p.snapshot().counters.stage_announcements, 0u);
  EXPECT_EQ(t.p.snapshot().peers.size(), 6u) << "both peers are kept";
}

TEST(MasterStages, ARecoveringStageWhoseReplacementIsGoneIsLostAgain) {
  ThreeStages t;
  t.p.disconnect(t.s1[0]);
  t.p.disconnect(t.s1[1]);
  const EndpointId fresh = t.p.join("s1", 1, 3);
  t.p.ready({fresh});
  EXPECT_EQ(t.p.query(t.other, 1).state, StageState::kRecovering);
  t.p.disconnect(fresh);  // before it announced
  const std::vector<std::string> twice = {"lost 1 s1", "lost 1 s1"};
  for (const auto& peer : t.neighbours())
    EXPECT_EQ(events(t.p, peer), twice);
  EXPECT_EQ(t.p.query(t.other, 1).state, StageState::kLost);
  EXPECT_EQ(t.p.snapshot().counters.stages_lost, 2u);
  // The next replacement restores it with its own announcement.
  const EndpointId next = t.p.join("s1", 1, 3);
  t.p.ready({next});
  ASSERT_TRUE(t.p.announce(next, 12).isOk());
  EXPECT_EQ(events(t.p, t.s2[1]),
            (std::vector<std::string>{"lost 1 s1", "lost 1 s1", "restored 1 s1 @12"}));
  // ... and a restored stage is lost again once its peers are gone.
  t.p.disconnect(next);
  EXPECT_EQ(events(t.p, t.s0[0]),
            (std::vector<std::string>{"lost 1 s1", "lost 1 s1", "restored 1 s1 @12", "lost 1 s1"}));
}

TEST(MasterStages, AStageThatNeverHadAnAcceptedPeerIsNotLost) {
  Pipeline p;
  const auto s0 = p.stageGroup("s0", 0, 2, 1);
  const EndpointId joiner = p.join("s1", 1, 2);  // its ring is set up, never committed
  p.disconnect(joiner);
  EXPECT_TRUE(events(p, s0[0]).empty());
  // A lost stage whose replacement dies before admission is not lost twice.
  const auto s1 = p.stageGroup("s1", 1, 2, 1);
  p.disconnect(s1[0]);
  const EndpointId replacement = p.join("s1", 1, 2);
  p.disconnect(replacement);
  EXPECT_EQ(events(p, s0[0]), std::vector<std::string>{"lost 1 s1"});
}

TEST(MasterStages, ConflictingRegistrationsAreRefused) {
  Pipeline p;
  p.stageGroup("s0", 0, 3, 1);
  p.stageGroup("plain", -1, 0, 1);
  struct Case {
    std::string group;
    int32_t stage;
    uint32_t num_stages;
    std::string text;
  };
  const std::vector<Case> cases = {
      {"s1", 1, 4, "the pipeline has 3 stages; this peer of group 's1' says 4"},
      {"s0", 1, 3, "group 's0' holds pipeline stage 0, not stage 1"},
      {"other", 0, 3, "pipeline stage 0 is held by group 's0', not 'other'"},
      {"s0", -1, 0, "group 's0' holds pipeline stage 0: a peer without a stage cannot join it"},
      {"plain", 2, 3, "group 'plain' has peers without a pipeline stage: it cannot hold stage 2"},
  };
  for (const Case& c : cases) {
    auto id = p.tryJoin(c.group, c.stage, c.num_stages);
    ASSERT_FALSE(id.isOk()) << c.group;
    EXPECT_EQ(id.status().code(), Code::kInvalidUsage);
    EXPECT_EQ(id.status().message(), c.text);
  }
  EXPECT_EQ(p.snapshot().counters.rejected_registrations, cases.size());
  EXPECT_TRUE(p.tryJoin("s1", 1, 3).isOk()) << "the pipeline's own size is fine";
}

TEST(MasterStages, ThePipelineIsForgottenWithItsLastPeer) {
  Pipeline p;
  const auto s0 = p.stageGroup("s0", 0, 3, 1);
  const auto s1 = p.stageGroup("s1", 1, 3, 1);
  p.leave(s1[0]);
  EXPECT_EQ(p.snapshot().stages.size(), 2u) << "a lost stage keeps its binding";
  p.leave(s0[0]);
  EXPECT_EQ(p.snapshot().stages.size(), 0u);
  EXPECT_EQ(p.snapshot().pipeline_stages, 0u);
  // A new pipeline of another size, with groups bound afresh.
  p.stageGroup("s1", 0, 5, 1);
  EXPECT_EQ(p.snapshot().pipeline_stages, 5u);
  EXPECT_EQ(p.snapshot().stages[0].group, "s1");
}

TEST(MasterStages, TheHighestRoundWinsAndAtEqualRoundsTheLaterReport) {
  ThreeStages t;
  const EndpointId a = t.s0[0];
  const EndpointId b = t.s0[1];
  ASSERT_TRUE(t.p.metric(a, 5, 1.5).isOk());
  ASSERT_TRUE(t.p.metric(b, 4, 9.0).isOk());  // older round: ignored
  auto info = t.p.query(t.other, 0);
  EXPECT_TRUE(info.has_metric);
  EXPECT_EQ(info.metric_round, 5u);
  EXPECT_EQ(info.metric, 1.5);
  EXPECT_EQ(info.metric_peer, a);
  ASSERT_TRUE(t.p.metric(b, 5, 2.25).isOk());  // same round, later
  info = t.p.query(t.other, 0);
  EXPECT_EQ(info.metric, 2.25);
  EXPECT_EQ(info.metric_peer, b);
  ASSERT_TRUE(t.p.metric(a, 6, 0.0).isOk());
  info = t.p.query(t.s2[0], 0);
  EXPECT_EQ(info.metric_round, 6u);
  EXPECT_EQ(info.metric, 0.0);
  EXPECT_EQ(info.metric_peer, a);
  EXPECT_EQ(t.p.snapshot().counters.stage_metrics, 4u);
  EXPECT_FALSE(t.p.query(t.other, 1).has_metric) << "metrics are per stage";
}

TEST(MasterStages, MetricsOfPeersWithoutAStageOrNotAcceptedAreMisuse) {
  ThreeStages t;
  Status plain = t.p.metric(t.other, 1, 1.0);
  EXPECT_EQ(plain.code(), Code::kInvalidUsage);
  EXPECT_EQ(plain.message(), "peer " + t.other.shortHex() +
                                 " of group 'other' is not a pipeline stage: it has no metric "
                                 "to report");
  const EndpointId waiting = t.p.join("s2", 2, 3);
  Status pending = t.p.metric(waiting, 1, 1.0);
  EXPECT_EQ(pending.code(), Code::kInvalidUsage);
  EXPECT_EQ(pending.message(), "peer " + waiting.shortHex() +
                                   " reported a metric for stage 2 before it was accepted into "
                                   "group 's2'");
  EXPECT_FALSE(t.p.query(t.other, 2).has_metric);
  EXPECT_EQ(t.p.snapshot().peers.size(), 8u) << "both peers are kept";
}

TEST(MasterStages, QueriesAnswerForAnyStage) {
  ThreeStages t;
  ASSERT_TRUE(t.p.metric(t.s1[1], 7, 3.5).isOk());
  auto info = t.p.query(t.other, 1);  // a peer without a stage may ask
  EXPECT_EQ(info.stage, 1u);
  EXPECT_EQ(info.state, StageState::kActive);
  EXPECT_EQ(info.group, "s1");
  EXPECT_EQ(info.accepted, 2u);
  EXPECT_EQ(info.metric_round, 7u);

  const auto unknown = t.p.query(t.s0[0], 3);
  EXPECT_EQ(unknown.stage, 3u);
  EXPECT_EQ(unknown.state, StageState::kUnknown);
  EXPECT_EQ(unknown.group, "");
  EXPECT_FALSE(unknown.has_metric);

  // A lost stage keeps its group and last metric for its replacement.
  t.p.disconnect(t.s1[0]);
  t.p.disconnect(t.s1[1]);
  info = t.p.query(t.s0[0], 1);
  EXPECT_EQ(info.state, StageState::kLost);
  EXPECT_EQ(info.group, "s1");
  EXPECT_EQ(info.accepted, 0u);
  EXPECT_TRUE(info.has_metric);
  EXPECT_EQ(info.metric, 3.5);
  EXPECT_EQ(info.metric_peer, t.s1[1]);
  EXPECT_EQ(t.p.snapshot().counters.stage_queries, 3u);
}

TEST(MasterStages, SnapshotShowsEachPeersStage) {
  ThreeStages t;
  for (const auto& view : t.p.snapshot().peers) {
    const int32_t expected = view.group == "other" ? -1 : view.group[1] - '0';
    EXPECT_EQ(view.stage, expected) << view.group;
  }
}

}  // namespace
}  // namespace eccl::membership
