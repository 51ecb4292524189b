// What the tools print, checked on hand-made inputs: the master's /metrics and
// /status rendering, eccl-peer's event lines, and HOST:PORT parsing.
#include <gtest/gtest.h>

#include "src/common/host_port.h"
#include "tools/eccl-master/metrics_text.h"
#include "tools/eccl-master/status_json.h"
#include "tools/eccl-peer/event_line.h"

namespace eccl::tools {
namespace {

using namespace std::chrono_literals;

EndpointId idFilledWith(uint8_t byte) {
  EndpointId id;
  id.bytes.fill(byte);
  return id;
}

membership::MasterSnapshot sampleSnapshot() {
  membership::MasterSnapshot s;
  s.incarnation = 1700000000123;
  s.peers.push_back(
      {idFilledWith(0xbb), "g", "10.0.0.2:5000", protocol::PeerState::kAccepted, 1, 120ms, 40, 7});
  s.peers.push_back(
      {idFilledWith(0xcc), "g", "10.0.0.3:5000", protocol::PeerState::kPending, -1, 30ms, 2, 0});
  s.peers.push_back(
      {idFilledWith(0xaa), "g", "10.0.0.1:5000", protocol::PeerState::kAccepted, 0, 1250ms, 41, 7});
  s.groups.push_back({"g", 3, 2, 1, 1, false, 2});
  s.counters = {4, 1, 83, 5, 3, 1, 2, 0, 6, 9, 0, 0, 5, 11, 12, 1, 2, 3};
  s.pipeline_stages = 3;
  s.stages.push_back(
      {0, "g", membership::StageBook::State::kActive, 2, false, 0, 0.0, EndpointId()});
  s.stages.push_back(
      {1, "s\"1", membership::StageBook::State::kLost, 0, true, 9, 0.1, idFilledWith(0xdd)});
  s.stages.push_back(
      {2, "s2", membership::StageBook::State::kRecovering, 1, false, 0, 0.0, EndpointId()});
  return s;
}

bool hasLine(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

TEST(MasterMetricsText, RendersEveryFamilyWithExactValues) {
  const std::string text = master::renderMetrics(sampleSnapshot());
  for (const char* line : {
           "eccl_master_incarnation 1700000000123",
           "# TYPE eccl_master_peers gauge",
           "eccl_master_peers{state=\"new\"} 0",
           "eccl_master_peers{state=\"pending\"} 1",
           "eccl_master_peers{state=\"accepted\"} 2",
           "eccl_master_groups 1",
           "eccl_master_group_revision{group=\"g\"} 3",
           "eccl_master_group_accepted{group=\"g\"} 2",
           "eccl_master_group_pending{group=\"g\"} 1",
           "eccl_master_group_reconfiguring{group=\"g\"} 0",
           "eccl_master_heartbeat_age_max_seconds 1.250",
           "# TYPE eccl_master_registrations_total counter",
           "eccl_master_registrations_total 4",
           "eccl_master_rejected_registrations_total 1",
           "eccl_master_heartbeats_total 83",
           "eccl_master_votes_total 5",
           "eccl_master_commits_total 3",
           "eccl_master_losses_total 1",
           "eccl_master_leaves_total 2",
           "eccl_master_evictions_total 0",
           "eccl_master_peer_lookups_total 6",
           "eccl_master_op_reports_total 9",
           "eccl_master_group_fetching{group=\"g\"} 2",
           "eccl_master_state_fetches_total 5",
           "eccl_master_pipeline_stages 3",
           "eccl_master_stage_lost{stage=\"0\",group=\"g\"} 0",
           "eccl_master_stage_lost{stage=\"1\",group=\"s\\\"1\"} 1",
           "eccl_master_stage_lost{stage=\"2\",group=\"s2\"} 0",
           "eccl_master_stage_recovering{stage=\"0\",group=\"g\"} 0",
           "eccl_master_stage_recovering{stage=\"1\",group=\"s\\\"1\"} 0",
           "eccl_master_stage_recovering{stage=\"2\",group=\"s2\"} 1",
           "eccl_master_stage_metric{stage=\"1\",group=\"s\\\"1\"} 0.10000000000000001",
           "eccl_master_stage_metrics_total 11",
           "eccl_master_stage_queries_total 12",
           "eccl_master_stages_lost_total 1",
           "eccl_master_stages_restored_total 2",
           "eccl_master_stage_announcements_total 3",
       }) {
    EXPECT_TRUE(hasLine(text, line)) << "missing: " << line << "\n" << text;
  }
  EXPECT_EQ(text.rfind("# HELP eccl_master_incarnation ", 0), 0u);
  EXPECT_EQ(text.back(), '\n');
}

TEST(MasterMetricsText, EscapesLabelValues) {
  EXPECT_EQ(master::escapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  auto snapshot = sampleSnapshot();
  snapshot.groups[0].name = "x\"y";
  EXPECT_TRUE(
      hasLine(master::renderMetrics(snapshot), "eccl_master_group_revision{group=\"x\\\"y\"} 3"));
}

TEST(MasterMetricsText, EmptySnapshotHasZeroes) {
  const std::string text = master::renderMetrics({});
  EXPECT_TRUE(hasLine(text, "eccl_master_peers{state=\"accepted\"} 0"));
  EXPECT_TRUE(hasLine(text, "eccl_master_groups 0"));
  EXPECT_TRUE(hasLine(text, "eccl_master_heartbeat_age_max_seconds 0.000"));
}

TEST(MasterStatusJson, ListsPeersInRingOrderThenPending) {
  const auto json = master::statusJson(sampleSnapshot());
  EXPECT_EQ(json["incarnation"], 1700000000123u);
  ASSERT_EQ(json["peers"].size(), 3u);
  EXPECT_EQ(json["peers"][0], (nlohmann::json{{"id", std::string(32, 'a')},
                                              {"state", "accepted"},
                                              {"group", "g"},
                                              {"rank", 0},
                                              {"address", "10.0.0.1:5000"},
                                              {"heartbeat_age_ms", 1250},
                                              {"heartbeats", 41},
                                              {"ops_completed", 7},
                                              {"stage", -1}}));
  EXPECT_EQ(json["peers"][1]["id"], std::string(32, 'b'));
  EXPECT_EQ(json["peers"][1]["rank"], 1);
  EXPECT_EQ(json["peers"][2]["id"], std::string(32, 'c'));
  EXPECT_EQ(json["peers"][2]["state"], "pending");
  EXPECT_EQ(json["peers"][2]["rank"], -1);
  ASSERT_EQ(json["groups"].size(), 1u);
  EXPECT_EQ(json["groups"][0], (nlohmann::json{{"name", "g"},
                                               {"revision", 3},
                                               {"accepted", 2},
                                               {"pending", 1},
                                               {"votes", 1},
                                               {"reconfiguring", false},
                                               {"fetching", 2}}));
  EXPECT_EQ(json["counters"]["heartbeats"], 83);
  EXPECT_EQ(json["counters"]["leaves"], 2);
  EXPECT_EQ(json["counters"]["state_fetches"], 5);
  EXPECT_EQ(json["counters"]["stages_restored"], 2);
  EXPECT_EQ(json["counters"]["stage_announcements"], 3);
  EXPECT_EQ(json["pipeline_stages"], 3);
  ASSERT_EQ(json["stages"].size(), 3u);
  EXPECT_EQ(json["stages"][0], (nlohmann::json{{"stage", 0},
                                               {"group", "g"},
                                               {"state", "active"},
                                               {"lost", false},
                                               {"accepted", 2},
                                               {"metric", nullptr}}));
  EXPECT_EQ(json["stages"][1]["state"], "lost");
  EXPECT_EQ(json["stages"][1]["lost"], true);
  EXPECT_EQ(json["stages"][2]["state"], "recovering");
  EXPECT_EQ(json["stages"][2]["lost"], false);
  EXPECT_EQ(json["stages"][2]["accepted"], 1);
  EXPECT_EQ(json["stages"][1]["metric"],
            (nlohmann::json{{"round", 9}, {"value", 0.1}, {"peer", std::string(32, 'd')}}));
}

TEST(PeerEventLine, JsonAndHumanForms) {
  peer::EventLine line{123456789, "lost", "ab", 2, 4, 7};
  EXPECT_EQ(nlohmann::json::parse(peer::formatEventLine(line, true)),
            (nlohmann::json{{"t_ns", 123456789},
                            {"event", "lost"},
                            {"peer", "ab"},
                            {"rank", 2},
                            {"world_size", 4},
                            {"revision", 7}}));
  EXPECT_EQ(peer::formatEventLine(line, false), "lost peer=ab revision=7");
  line.event = "admitted";
  EXPECT_EQ(peer::formatEventLine(line, false), "admitted rank=2 world=4 revision=7 peer=ab");
}

TEST(PeerStepLine, OkAndFailedStepsNameTheOp) {
  peer::StepLine line;
  line.t_ns = 5;
  line.step = 9;
  line.rank = 1;
  line.world_size = 3;
  line.revision = 12;
  line.bytes = 1'000'000;
  line.seconds = 0.5;
  line.busbw_gbs = 2.5;
  EXPECT_EQ(peer::formatStepLine(line, true),
            R"({"busbw_gbs":2.5,"bytes":1000000,"event":"step","ok":true,"rank":1,)"
            R"("revision":12,"seconds":0.5,"step":9,"t_ns":5,"world_size":3})");
  EXPECT_EQ(peer::formatStepLine(line, false),
            "step 9 rank=1 world=3 revision=12 1.0 MB in 0.500 s busbw 2.50 GB/s ok");
  line.ok = false;
  line.code = "PeerLost";
  line.error = "peer ab (rank 2) was lost";
  EXPECT_EQ(nlohmann::json::parse(peer::formatStepLine(line, true)),
            (nlohmann::json{{"t_ns", 5},
                            {"event", "step"},
                            {"step", 9},
                            {"rank", 1},
                            {"world_size", 3},
                            {"revision", 12},
                            {"ok", false},
                            {"code", "PeerLost"},
                            {"error", "peer ab (rank 2) was lost"}}));
  EXPECT_EQ(peer::formatStepLine(line, false),
            "step 9 rank=1 world=3 revision=12 failed: PeerLost: peer ab (rank 2) was lost");
}

TEST(HostPort, ParsesAndRejects) {
  auto v4 = parseHostPort("127.0.0.1:7000");
  ASSERT_TRUE(v4);
  EXPECT_EQ(v4->host, "127.0.0.1");
  EXPECT_EQ(v4->port, 7000);
  auto v6 = parseHostPort("[::1]:0");
  ASSERT_TRUE(v6);
  EXPECT_EQ(v6->host, "::1");
  EXPECT_EQ(v6->port, 0);
  auto bare = parseHostPort("node7", true);
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->host, "node7");
  EXPECT_EQ(bare->port, 0);
  for (const char* bad : {"node7", ":80", "h:", "h:65536", "h:12x", "::1:80", "[::1", "[::1]x"}) {
    EXPECT_FALSE(parseHostPort(bad)) << bad;
  }
  EXPECT_EQ(formatHostPort("::1", 80), "[::1]:80");
  EXPECT_EQ(formatHostPort("h", 80), "h:80");
}

}  // namespace
}  // namespace eccl::tools
