// Fixture for multi-process membership tests: one eccl-master and eccl-peer
// processes on 127.0.0.1, every one of them killed and reaped in TearDown.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "tests/multiprocess/cluster_processes.h"
#include "tests/support/test_env.h"

namespace eccl::test {

using namespace std::chrono_literals;

class ProcessCluster : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_FALSE(dir_.path().empty()) << "cannot create a temp dir"; }
  void TearDown() override {
    peers_.clear();
    master_.reset();
  }

  // eccl-master on `port` (0: any); retries for a while if the port is still taken.
  void startMaster(uint16_t port = 0, const std::vector<std::string>& extra_args = {});
  PeerProcess& addPeer(const std::vector<std::string>& extra_args = {});
  // Starts `count` peers at once and waits until every peer (old and new) is in a ring of all of
  // them.
  void wave(int count);
  // Each peer's most recent admitted/topology line.
  std::vector<nlohmann::json> ringLines(const std::vector<PeerProcess*>& peers);
  // Expects ranks 0..n-1 once each, one revision, world size n.
  void expectOneRing(const std::vector<PeerProcess*>& peers);
  std::vector<PeerProcess*> peers(const std::vector<size_t>& except = {});

  static std::string readFile(const std::string& path);
  // Waits until `path` holds `text` (a log line that may still be on its way).
  static bool waitForText(const std::string& path, const std::string& text,
                          std::chrono::milliseconds timeout);

  TempDir dir_;
  std::unique_ptr<MasterProcess> master_;
  std::vector<std::unique_ptr<PeerProcess>> peers_;
};

}  // namespace eccl::test
