// A TLS cluster (eccl-master and eccl-peer --tls-ca/--tls-cert/--tls-key,
// data channels forced onto TLS with --tls-data on): its peers train together;
// a peer whose certificate another CA signed is refused at once with
// AuthError, a peer without TLS is never admitted, the master logs both, and
// the cluster trains on undisturbed.
#include "tests/multiprocess/process_cluster.h"
#include "tests/support/test_certs.h"

namespace eccl::test {
namespace {

std::vector<std::string> tlsArgs(const HostCert& cert) {
  return {"--tls-ca",           cert.files.ca_file, "--tls-cert",
          cert.files.cert_file, "--tls-key",        cert.files.key_file};
}

TEST_F(ProcessCluster, OnlyPeersOfTheClustersCaJoinATlsClusterAndItTrainsOn) {
  TestCerts certs;
  certs.makeCa("ca");
  certs.makeCa("other");
  const HostCert master_cert = certs.makeHost("master", "ca");
  const HostCert alpha = certs.makeHost("alpha", "ca");
  const HostCert beta = certs.makeHost("beta", "ca");
  HostCert stranger = certs.makeHost("stranger", "other");
  stranger.files.ca_file = master_cert.files.ca_file;  // it trusts the master

  const std::string master_log = dir_.file("master.stderr");
  std::string error;
  master_ = MasterProcess::start(dir_, 0, tlsArgs(master_cert), &error, master_log);
  ASSERT_TRUE(master_ != nullptr) << error;

  for (const HostCert* cert : {&alpha, &beta}) {
    std::vector<std::string> trainer = {"--allreduce-size", "256K", "--step-ms", "20",
                                        "--tls-data",       "on"};
    for (const std::string& arg : tlsArgs(*cert))
      trainer.push_back(arg);
    addPeer(trainer);
  }
  auto is_step = [](const nlohmann::json& l) {
    return l.value("event", "") == "step" && l.value("world_size", 0) == 2 && l.value("ok", false);
  };
  for (auto* peer : peers())
    ASSERT_TRUE(peer->waitFor(is_step, deadline(30s))) << peer->describe();

  // A certificate of another CA: the master refuses it, and the peer gives up at once.
  const std::string stranger_log = dir_.file("stranger.stderr");
  auto refused = PeerProcess::start(master_->address(), tlsArgs(stranger), stranger_log);
  ASSERT_TRUE(refused != nullptr);
  auto exited = refused->process().wait(deadline(10s));
  ASSERT_TRUE(exited) << "a peer of another CA was not turned away: " << refused->describe();
  EXPECT_EQ(ChildProcess::describeExit(*exited), "exited with code 1");
  const std::string stranger_text = readFile(stranger_log);
  EXPECT_NE(stranger_text.find("AuthError"), std::string::npos) << stranger_text;
  EXPECT_NE(stranger_text.find("unknown ca"), std::string::npos) << stranger_text;
  EXPECT_TRUE(waitForText(master_log, "certificate verify failed", deadline(5s)))
      << readFile(master_log);

  // No TLS at all: the master names the mistake, and never admits it.
  auto plain = PeerProcess::start(master_->address(), {});
  ASSERT_TRUE(plain != nullptr);
  EXPECT_TRUE(waitForText(master_log, "speaks ECCL without TLS", deadline(5s)))
      << readFile(master_log);
  EXPECT_FALSE(plain->waitAdmitted(deadline(1s))) << "a peer without TLS was admitted";

  // The members never noticed: they are still two and still stepping.
  for (auto* peer : peers()) {
    const size_t seen = peer->lines().size();
    ASSERT_TRUE(peer->waitFor(is_step, deadline(10s), seen)) << peer->describe();
  }
}

}  // namespace
}  // namespace eccl::test
