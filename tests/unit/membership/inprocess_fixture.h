// A master and communicators in one process, over real loopback sockets: the
// fixture of the in-process membership and point-to-point tests.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "src/comm/communicator.h"
#include "src/membership/master_server.h"
#include "tests/support/admission.h"
#include "tests/support/test_env.h"

namespace eccl::test {

using namespace std::chrono_literals;

class InProcessCluster : public ::testing::Test {
 protected:
  void SetUp() override {
    master_options_.listen_host = "127.0.0.1";
    master_options_.settings.heartbeat = 100ms;
    master_options_.settings.miss_limit = 4;
    master_options_.settings.channel_setup_timeout = deadline(5s);
    master_options_.settings.token_key = membership::randomTokenKey();
    startMaster();
  }
  void TearDown() override {
    peers_.clear();
    stopMaster();
  }

  void startMaster() {
    auto master = membership::MasterServer::create(master_options_);
    ASSERT_TRUE(master) << master.status().toString();
    master_ = std::move(*master);
    master_options_.listen_port = master_->port();  // a restart comes back on the same port
    thread_ = std::thread([this] { EXPECT_TRUE(master_->run().isOk()); });
  }
  void stopMaster() {
    if (!master_) return;
    master_->stop();
    thread_.join();
    master_.reset();
  }
  // Another master process on the same address with the same token key.
  void restartMaster() {
    stopMaster();
    master_options_.settings.incarnation += 1;
    master_options_.settings.hold_first_rings_until =
        std::chrono::steady_clock::now() + master_options_.settings.rebuild_grace;
    startMaster();
  }

  // hook: the peer's CommOptions::fault_hook (tests fail it at a named point);
  // faults: what its data channels inject (ECCL_FAULTS), none by default.
  comm::Communicator& addPeer(const std::string& group = "g",
                              comm::FaultHook hook = comm::FaultHook(),
                              std::shared_ptr<const transport::FaultSpec> faults = nullptr) {
    comm::CommOptions options = peerOptions(group);
    options.fault_hook = std::move(hook);
    options.channel.faults = std::move(faults);
    return addPeerWith(options);
  }
  // A peer of `group` on 127.0.0.1 with 2 connections per channel.
  comm::CommOptions peerOptions(const std::string& group) const {
    comm::CommOptions options;
    options.master_host = "127.0.0.1";
    options.master_port = master_options_.listen_port;
    options.group = group;
    options.listen_host = "127.0.0.1";
    options.channel.connections = 2;
    return options;
  }
  comm::Communicator& addPeerWith(const comm::CommOptions& options) {
    auto comm = comm::Communicator::create(options);
    EXPECT_TRUE(comm) << comm.status().toString();
    peers_.push_back(std::move(*comm));
    return *peers_.back();
  }

  void admit(std::vector<comm::Communicator*> accepted, std::vector<comm::Communicator*> joiners) {
    test::admit(accepted, joiners, deadline(10s));
  }

  // peers[0] connects, the others are admitted; returned in rank order, so
  // that tests can say which rank does what.
  std::vector<comm::Communicator*> rankedRing(std::vector<comm::Communicator*> peers) {
    EXPECT_TRUE(peers[0]->connect(deadline(10s)).isOk());
    admit({peers[0]}, {peers.begin() + 1, peers.end()});
    std::sort(peers.begin(), peers.end(), [](auto* a, auto* b) { return a->rank() < b->rank(); });
    return peers;
  }

  membership::MasterOptions master_options_;
  std::unique_ptr<membership::MasterServer> master_;
  std::thread thread_;
  std::vector<std::unique_ptr<comm::Communicator>> peers_;
};

}  // namespace eccl::test
