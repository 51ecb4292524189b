// ecclSyncSharedState across real processes (eccl-peer's state workload):
// holders sync every step, a joiner receives the whole state from every holder
// at once, and a holder SIGKILLed while it serves is replaced by the others;
// a joiner that fetches the state before its admission
// (ecclCommConnectWithState) loses a source to SIGKILL mid-fetch and gets the
// rest at its first sync.
#include <signal.h>
#include <sys/wait.h>

#include "tests/multiprocess/process_cluster.h"

namespace eccl::test {
namespace {

std::vector<std::string> holderArgs(const std::string& size) {
  return {"--state-size", size, "--state-entries", "4", "--step-ms", "50"};
}

bool isState(const nlohmann::json& line) {
  return line.value("event", "") == "state";
}

class StateSyncProcesses : public ProcessCluster {
 protected:
  // The holders' first successful state line, all with one hash; that hash.
  std::string holdersAgree(const std::vector<PeerProcess*>& holders) {
    std::string hash;
    for (auto* holder : holders) {
      auto line = holder->waitFor([](const auto& l) { return isState(l) && l.value("ok", false); },
                                  deadline(60s));
      EXPECT_TRUE(line) << holder->describe() << " never synced";
      if (!line) return "";
      EXPECT_EQ((*line)["strategy"], "ENFORCE_POPULAR");
      if (hash.empty()) hash = (*line)["hash"];
      EXPECT_EQ((*line)["hash"], hash) << holder->describe();
    }
    return hash;
  }

  // The joiner's first state line (ok or not).
  nlohmann::json joinerSync(PeerProcess& joiner) {
    auto line = joiner.waitFor(isState, deadline(120s));
    EXPECT_TRUE(line) << joiner.describe() << " printed no state line";
    return line ? *line : nlohmann::json{};
  }
};

TEST_F(StateSyncProcesses, AJoinerReceivesTheStateWhileAHolderIsKilledMidTransfer) {
  startMaster();
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(addPeer(holderArgs("256M")).waitAdmitted(deadline(30s)));
  // The third holder dies (SIGKILL, from inside) as soon as it has posted its
  // first sends: only a joiner makes anyone send.
  auto args = holderArgs("256M");
  args.insert(args.end(), {"--die-at", "state-serve"});
  PeerProcess& victim = addPeer(args);
  ASSERT_TRUE(victim.waitAdmitted(deadline(30s)));
  const std::string hash = holdersAgree(peers());
  ASSERT_FALSE(hash.empty());

  auto joiner_args = holderArgs("256M");
  joiner_args.push_back("--state-receive");
  PeerProcess& joiner = addPeer(joiner_args);
  ASSERT_TRUE(joiner.waitAdmitted(deadline(30s)));
  const auto line = joinerSync(joiner);
  ASSERT_TRUE(line.value("ok", false)) << line.dump();
  EXPECT_EQ(line["strategy"], "RECEIVE_ONLY");
  EXPECT_EQ(line["hash"], hash);
  EXPECT_EQ(line["bytes_received"].get<uint64_t>(), 256u << 20);
  EXPECT_EQ(line["entries_fixed"].get<int>(), 4);
  EXPECT_GE(line["rounds"].get<int>(), 2) << "the killed holder's ranges came in a second round";

  ASSERT_TRUE(victim.process().wait(deadline(10s))) << victim.describe();
  EXPECT_TRUE(WIFSIGNALED(victim.process().waitStatus()) &&
              WTERMSIG(victim.process().waitStatus()) == SIGKILL)
      << victim.describe();
  // The survivors carry on syncing: their next lines agree with the joiner's.
  for (size_t i : {0, 1}) {
    const size_t from = peers_[i]->lines().size();
    auto next = peers_[i]->waitFor([](const auto& l) { return isState(l) && l.value("ok", false); },
                                   deadline(60s), from);
    ASSERT_TRUE(next) << peers_[i]->describe();
    EXPECT_EQ((*next)["hash"], hash);
  }
}

// The figure: a joiner receives 1 GiB from three holders (not under
// sanitizers: 4 GiB of state in four processes).
TEST_F(StateSyncProcesses, AJoinerReceivesOneGibibyteFromThreeHolders) {
  startMaster();
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(addPeer(holderArgs("1G")).waitAdmitted(deadline(60s)));
  const std::string hash = holdersAgree(peers());
  ASSERT_FALSE(hash.empty());
  auto joiner_args = holderArgs("1G");
  joiner_args.push_back("--state-receive");
  PeerProcess& joiner = addPeer(joiner_args);
  ASSERT_TRUE(joiner.waitAdmitted(deadline(60s)));
  const auto line = joinerSync(joiner);
  ASSERT_TRUE(line.value("ok", false)) << line.dump();
  EXPECT_EQ(line["hash"], hash);
  EXPECT_EQ(line["bytes_received"].get<uint64_t>(), 1u << 30);
  EXPECT_EQ(line["rounds"].get<int>(), 1);
  EXPECT_EQ(line["entries_fixed"].get<int>(), 4);
}

// 64 entries of 1 MiB: each comes from one source, so the killed source's
// entries are missing after the fetch and only those travel at the catch-up.
TEST_F(StateSyncProcesses, AFetchingJoinerLosesASourceAndItsFirstSyncBringsTheRest) {
  startMaster();
  auto holder = [] {
    return std::vector<std::string>{"--state-size", "64M",       "--state-entries",
                                    "64",           "--step-ms", "50"};
  };
  for (int i = 0; i < 2; ++i)
    ASSERT_TRUE(addPeer(holder()).waitAdmitted(deadline(30s)));
  auto args = holder();
  args.insert(args.end(), {"--die-at", "state-serve"});
  PeerProcess& victim = addPeer(args);
  ASSERT_TRUE(victim.waitAdmitted(deadline(30s)));
  const std::string hash = holdersAgree(peers());
  ASSERT_FALSE(hash.empty());

  auto joiner_args = holder();
  joiner_args.insert(joiner_args.end(), {"--state-receive", "--state-fetch-mbit", "400"});
  PeerProcess& joiner = addPeer(joiner_args);
  ASSERT_TRUE(joiner.waitAdmitted(deadline(60s)));
  ASSERT_TRUE(victim.process().wait(deadline(10s))) << victim.describe();
  EXPECT_TRUE(WIFSIGNALED(victim.process().waitStatus()) &&
              WTERMSIG(victim.process().waitStatus()) == SIGKILL)
      << victim.describe();
  const auto line = joinerSync(joiner);
  ASSERT_TRUE(line.value("ok", false)) << line.dump();
  EXPECT_EQ(line["strategy"], "RECEIVE_ONLY");
  EXPECT_EQ(line["hash"], hash);
  // The survivors' entries came with the fetch; the killed source's now.
  const auto received = line["bytes_received"].get<uint64_t>();
  EXPECT_GT(received, 0u);
  EXPECT_LT(received, 64u << 20);
  EXPECT_EQ(received, line["entries_fixed"].get<uint64_t>() << 20);
}

}  // namespace
}  // namespace eccl::test
