// A cluster with a shared secret (eccl-master and eccl-peer --secret-file):
// its peers train together; a peer with another secret is refused at once
// with AuthError, a peer without one is never admitted, the master logs both,
// and the cluster trains on undisturbed.
#include <sys/stat.h>

#include <fstream>

#include "tests/multiprocess/process_cluster.h"

namespace eccl::test {
namespace {

class AuthProcesses : public ProcessCluster {
 protected:
  std::string writeSecret(const std::string& name, const std::string& text) {
    const std::string path = dir_.file(name);
    std::ofstream(path) << text << "\n";
    ::chmod(path.c_str(), 0600);
    return path;
  }
};

TEST_F(AuthProcesses, OnlyHoldersOfTheSecretJoinAndTheClusterTrainsOn) {
  const std::string secret = writeSecret("cluster.secret", "4f1c0a9e2b7d4c36a8e5f0b1c2d3e4f5");
  const std::string other = writeSecret("other.secret", "00000000000000001111111111111111");
  const std::string master_log = dir_.file("master.stderr");
  std::string error;
  master_ = MasterProcess::start(dir_, 0, {"--secret-file", secret}, &error, master_log);
  ASSERT_TRUE(master_ != nullptr) << error;

  const std::vector<std::string> trainer = {"--allreduce-size", "256K", "--step-ms", "20",
                                            "--secret-file",    secret};
  addPeer(trainer);
  addPeer(trainer);
  auto is_step = [](const nlohmann::json& l) {
    return l.value("event", "") == "step" && l.value("world_size", 0) == 2 && l.value("ok", false);
  };
  for (auto* peer : peers())
    ASSERT_TRUE(peer->waitFor(is_step, deadline(30s))) << peer->describe();

  // Another secret: the master refuses the proof, and the peer gives up at once.
  const std::string wrong_log = dir_.file("wrong.stderr");
  auto wrong = PeerProcess::start(master_->address(), {"--secret-file", other}, wrong_log);
  ASSERT_TRUE(wrong != nullptr);
  auto exited = wrong->process().wait(deadline(10s));
  ASSERT_TRUE(exited) << "a peer with another secret was not turned away: " << wrong->describe();
  EXPECT_EQ(ChildProcess::describeExit(*exited), "exited with code 1");
  const std::string wrong_text = readFile(wrong_log);
  EXPECT_NE(wrong_text.find("AuthError"), std::string::npos) << wrong_text;
  EXPECT_NE(wrong_text.find("refused our proof"), std::string::npos) << wrong_text;
  EXPECT_TRUE(waitForText(master_log, "proof is wrong", deadline(5s))) << readFile(master_log);

  // No secret at all: its frames are refused unread, and it is never admitted.
  auto plain = PeerProcess::start(master_->address(), {});
  ASSERT_TRUE(plain != nullptr);
  EXPECT_TRUE(waitForText(master_log, "did not authenticate", deadline(5s)))
      << readFile(master_log);
  EXPECT_FALSE(plain->waitAdmitted(deadline(1s))) << "a peer without the secret was admitted";

  // The members never noticed: they are still two and still stepping.
  for (auto* peer : peers()) {
    const size_t seen = peer->lines().size();
    ASSERT_TRUE(peer->waitFor(is_step, deadline(10s), seen)) << peer->describe();
  }
}

}  // namespace
}  // namespace eccl::test
