// eccl-peer's all-reduce workload across real processes: every step an update
// and an all-reduce whose every element the peer checks (it exits 1 on a wrong
// result). Peers join while others train, and a SIGKILLed peer is survived.
#include <signal.h>

#include "tests/multiprocess/process_cluster.h"

namespace eccl::test {
namespace {

// (PeerProcess already passes --connections 2.)
const std::vector<std::string> kTrainer = {"--allreduce-size", "1M", "--step-ms", "10"};

bool isStep(const nlohmann::json& line, int world) {
  return line.value("event", "") == "step" && line.value("world_size", 0) == world &&
         line.value("ok", false);
}

class TrainingProcesses : public ProcessCluster {
 protected:
  // Every listed peer completes a checked step in a ring of `world` (from line `from` on).
  void expectSteps(const std::vector<PeerProcess*>& trainers, int world,
                   const std::vector<size_t>& from) {
    for (size_t i = 0; i < trainers.size(); ++i) {
      auto step = trainers[i]->waitFor([&](const auto& line) { return isStep(line, world); },
                                       deadline(30s), from.empty() ? 0 : from[i]);
      ASSERT_TRUE(step) << trainers[i]->describe() << " never finished a step with " << world
                        << " peers";
      EXPECT_EQ((*step)["bytes"].get<double>(), 1024.0 * 1024.0);
    }
  }
  std::vector<size_t> lineCounts(const std::vector<PeerProcess*>& trainers) {
    std::vector<size_t> counts;
    for (auto* trainer : trainers)
      counts.push_back(trainer->lines().size());
    return counts;
  }
};

TEST_F(TrainingProcesses, PeersTrainThroughAJoinAndAKill) {
  startMaster();
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(addPeer(kTrainer).waitAdmitted(deadline(20s)));
  expectSteps(peers(), 3, {});

  auto before = lineCounts(peers());
  ASSERT_TRUE(addPeer(kTrainer).waitAdmitted(deadline(20s)));
  before.push_back(0);
  expectSteps(peers(), 4, before);

  const size_t victim = 1;
  auto survivors = peers({victim});
  const auto from = lineCounts(survivors);
  ASSERT_TRUE(peers_[victim]->process().signal(SIGKILL));
  expectSteps(survivors, 3, from);

  for (auto* survivor : survivors)
    ASSERT_TRUE(survivor->process().signal(SIGTERM));
  for (auto* survivor : survivors) {
    auto code = survivor->process().wait(deadline(10s));
    ASSERT_TRUE(code) << survivor->describe() << " did not exit after SIGTERM";
    EXPECT_EQ(*code, 0) << survivor->describe() << ": a wrong all-reduce result exits 1";
  }
}

}  // namespace
}  // namespace eccl::test
