// Real eccl-master and eccl-peer processes on loopback: joins in waves,
// graceful leaves, kills (SIGKILL), hangs (SIGSTOP), a loss during a vote, and
// a master restart. Peers print JSON lines; every assertion is on those lines.
#include <httplib.h>
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "src/common/time_scale.h"
#include "tests/multiprocess/process_cluster.h"

namespace eccl::test {
namespace {

double msSince(int64_t start_ns, const nlohmann::json& line) {
  return static_cast<double>(line["t_ns"].get<int64_t>() - start_ns) / 1e6;
}

std::optional<nlohmann::json> getStatus(uint16_t http_port) {
  httplib::Client client("127.0.0.1", http_port);
  auto response = client.Get("/status");
  if (!response || response->status != 200) return std::nullopt;
  auto json = nlohmann::json::parse(response->body, nullptr, false);
  if (json.is_discarded()) return std::nullopt;
  return json;
}

class MembershipProcesses : public ProcessCluster {
 protected:
  // Four idle peers; `signal_number` to one; each survivor must print "lost"
  // naming it within heartbeat_ms × (miss_limit + 2), then all settle on a ring of three.
  void expectLossDetected(int signal_number, const char* what) {
    startMaster();
    wave(1);
    wave(3);
    for (auto& peer : peers_)
      peer->drain(50ms);  // idle now
    const size_t victim = 2;
    const std::string id = peers_[victim]->id();
    const auto bound = deadline(600ms);  // 100 ms × (4 + 2)
    auto survivors = peers({victim});
    std::vector<size_t> from;
    for (auto* survivor : survivors)
      from.push_back(survivor->lines().size());
    const int64_t start = steadyNowNs();
    ASSERT_TRUE(peers_[victim]->process().signal(signal_number));
    for (auto* survivor : survivors) {
      auto lost = survivor->waitEvent("lost", id, deadline(5s));
      ASSERT_TRUE(lost) << "a survivor never reported the " << what << " peer lost";
      const double ms = msSince(start, *lost);
      std::printf("[ detection ] %s: survivor %.8s saw \"lost\" %.1f ms after the signal\n", what,
                  survivor->id().c_str(), ms);
      RecordProperty(std::string(what) + "_detection_ms_" + survivor->id().substr(0, 8),
                     std::to_string(ms));
      EXPECT_GE(ms, 0.0);
      EXPECT_LE(ms, static_cast<double>(bound.count()));
    }
    for (size_t i = 0; i < survivors.size(); ++i)
      ASSERT_TRUE(survivors[i]->waitWorld(3, deadline(10s), from[i]));
    expectOneRing(survivors);
  }
};

TEST_F(MembershipProcesses, PeersJoinInWavesOfOneTwoFourEight) {
  startMaster();
  wave(1);
  wave(1);
  wave(2);
  wave(4);
  for (auto& peer : peers_)
    peer->drain(100ms);  // nothing more may happen: no later ring
  expectOneRing(peers());
}

TEST_F(MembershipProcesses, GracefulLeaveIsAnnouncedAndSettled) {
  startMaster();
  wave(1);
  wave(3);
  const size_t leaver = 1;
  const std::string id = peers_[leaver]->id();
  auto survivors = peers({leaver});
  std::vector<size_t> from;
  for (auto* survivor : survivors)
    from.push_back(survivor->drain(0ms).size());
  ASSERT_TRUE(peers_[leaver]->process().signal(SIGTERM));
  auto status = peers_[leaver]->process().wait(deadline(3s));
  ASSERT_TRUE(status) << "eccl-peer did not exit after SIGTERM";
  EXPECT_TRUE(ChildProcess::exitedCleanly(*status)) << ChildProcess::describeExit(*status);
  for (size_t i = 0; i < survivors.size(); ++i) {
    ASSERT_TRUE(survivors[i]->waitEvent("left", id, deadline(3s), from[i]))
        << "no \"left\" for " << id;
    ASSERT_TRUE(survivors[i]->waitWorld(3, deadline(10s), from[i]));
  }
  expectOneRing(survivors);
}

TEST_F(MembershipProcesses, KilledPeerIsDetectedWithinTheHeartbeatBound) {
  expectLossDetected(SIGKILL, "SIGKILL");
}

TEST_F(MembershipProcesses, StoppedPeerIsDetectedWithinTheHeartbeatBound) {
  expectLossDetected(SIGSTOP, "SIGSTOP");  // the destructor sends SIGCONT and SIGKILL
}

TEST_F(MembershipProcesses, UpdateCompletesWithoutAPeerKilledDuringTheVote) {
  const std::string http_port_file = dir_.file("http.port");
  startMaster(0, {"--http", "127.0.0.1:0", "--http-port-file", http_port_file});
  auto http_port = readPortFile(http_port_file, deadline(5s));
  ASSERT_TRUE(http_port);
  wave(1);
  wave(2);
  // The victim checks for work only every 10 minutes: it will not vote for the next joiner.
  auto& victim = addPeer({"--step-ms", "600000"});
  ASSERT_TRUE(victim.waitAdmitted(deadline(20s)));
  for (auto& peer : peers_)
    ASSERT_TRUE(peer->waitWorld(4, deadline(20s)));
  const std::string victim_id = victim.id();
  auto survivors = peers({3});

  std::vector<size_t> seen;
  for (auto* survivor : survivors)
    seen.push_back(survivor->lines().size());
  auto& joiner = addPeer();
  for (size_t i = 0; i < survivors.size(); ++i) {
    ASSERT_TRUE(survivors[i]->waitFor([](const auto& l) { return l["event"] == "joined"; },
                                      deadline(5s), seen[i]));
  }
  // Wait until the master holds the three survivors' votes and is waiting for the victim's.
  const auto until = std::chrono::steady_clock::now() + deadline(5s);
  bool in_vote = false;
  while (!in_vote && std::chrono::steady_clock::now() < until) {
    if (auto status = getStatus(*http_port); status && (*status)["groups"].size() == 1) {
      const auto& group = (*status)["groups"][0];
      in_vote = group["votes"] == 3 && group["accepted"] == 4 && group["pending"] == 1 &&
                group["reconfiguring"] == false;
    }
    if (!in_vote) std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(in_vote) << "the survivors never all voted";

  // Blocked on the victim's vote: no survivor has a new ring yet.
  std::vector<size_t> at_kill;
  for (size_t i = 0; i < survivors.size(); ++i) {
    const auto& lines = survivors[i]->drain(0ms);
    for (size_t j = seen[i]; j < lines.size(); ++j)
      EXPECT_NE(lines[j]["event"], "topology") << lines[j].dump();
    at_kill.push_back(lines.size());
  }
  const int64_t start = steadyNowNs();
  ASSERT_TRUE(victim.process().signal(SIGKILL));
  for (size_t i = 0; i < survivors.size(); ++i) {
    auto* survivor = survivors[i];
    ASSERT_TRUE(survivor->waitEvent("lost", victim_id, deadline(5s), at_kill[i]));
    auto ring = survivor->waitWorld(4, deadline(10s), at_kill[i]);
    ASSERT_TRUE(ring) << "the survivors' update did not complete without the victim";
    const double ms = msSince(start, *ring);
    std::printf("[ vote loss ] survivor %.8s: update completed %.1f ms after the kill\n",
                survivor->id().c_str(), ms);
    EXPECT_LE(ms, static_cast<double>(deadline(3s).count()));
  }
  ASSERT_TRUE(joiner.waitAdmitted(deadline(10s)));
  auto members = survivors;
  members.push_back(&joiner);
  expectOneRing(members);
}

TEST_F(MembershipProcesses, PeersSurviveAMasterRestart) {
  const std::vector<std::string> key = {"--token-key-file", dir_.file("token.key")};
  startMaster(0, key);
  wave(1);
  wave(3);
  const uint16_t port = master_->port();

  ASSERT_TRUE(master_->process().signal(SIGTERM));
  auto status = master_->process().wait(deadline(2s));
  ASSERT_TRUE(status) << "eccl-master did not stop";
  EXPECT_TRUE(ChildProcess::exitedCleanly(*status)) << ChildProcess::describeExit(*status);
  master_.reset();
  const int64_t restart = steadyNowNs();
  startMaster(port, key);
  ASSERT_EQ(master_->port(), port);

  auto old_peers = peers();
  auto& fifth = addPeer();
  ASSERT_TRUE(fifth.waitAdmitted(deadline(20s))) << "the 5th peer was not admitted";
  double slowest = 0;
  for (auto* peer : peers()) {
    auto ring = peer->waitWorld(5, deadline(20s));
    ASSERT_TRUE(ring) << "never reached world size 5 after the restart: " << peer->describe();
    slowest = std::max(slowest, msSince(restart, *ring));
  }
  std::printf("[ restart ] master restart -> 5-member update completed: %.1f ms\n", slowest);
  RecordProperty("restart_to_update_ms", std::to_string(slowest));
  expectOneRing(peers());
  for (auto* peer : old_peers) {
    EXPECT_FALSE(peer->process().hasExited()) << peer->describe();
    for (const auto& line : peer->drain(0ms)) {
      EXPECT_NE(line["event"], "lost") << line.dump();
      EXPECT_NE(line["event"], "left") << line.dump();
      EXPECT_NE(line["event"], "evicted") << line.dump();
    }
  }
}

// The flight recorder on demand: SIGUSR1 makes a training peer log its state
// (its ring, its links, its recent all-reduces) and it trains on.
TEST_F(MembershipProcesses, SigusrOneDumpsAPeersStateAndItCarriesOn) {
  startMaster();
  ASSERT_TRUE(master_ != nullptr);
  const std::vector<std::string> trainer = {"--allreduce-size", "256K", "--step-ms", "20"};
  const std::string log = dir_.file("peer0.stderr");
  peers_.push_back(PeerProcess::start(master_->address(), trainer, log));
  ASSERT_TRUE(peers_.back() != nullptr);
  addPeer(trainer);
  auto is_step = [](const nlohmann::json& l) {
    return l.value("event", "") == "step" && l.value("world_size", 0) == 2 && l.value("ok", false);
  };
  for (auto* peer : peers())
    ASSERT_TRUE(peer->waitFor(is_step, deadline(30s))) << peer->describe();
  ASSERT_TRUE(peers_[0]->process().signal(SIGUSR1));
  std::string text;
  const auto until = std::chrono::steady_clock::now() + deadline(10s);
  while (std::chrono::steady_clock::now() < until) {
    std::ifstream in(log);
    text.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (text.find("ops (the last") != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(text.find("signal " + std::to_string(SIGUSR1) + " asked for a dump"), std::string::npos)
      << text;
  EXPECT_NE(text.find("of group \"g\": accepted, rank"), std::string::npos) << text;
  // Its one neighbour (either rank) is both prev and next in a ring of two.
  EXPECT_NE(text.find(" (prev and next) 127.0.0.1:"), std::string::npos) << text;
  EXPECT_NE(text.find("allReduce tag"), std::string::npos) << text;
  // It trains on: more steps after the dump.
  const size_t seen = peers_[0]->lines().size();
  EXPECT_TRUE(peers_[0]->waitFor(is_step, deadline(10s), seen)) << peers_[0]->describe();
}

}  // namespace
}  // namespace eccl::test
