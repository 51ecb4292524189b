// The C API's master and communicator calls against a master in this
// process: timeouts, abort, events, attributes and the master's Run/Destroy rule.
#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <future>
#include <string>
#include <thread>

#include "eccl/eccl.h"
#include "tests/support/test_env.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string lastError() {
  return ecclGetLastError();
}

int64_t ms(std::chrono::milliseconds d) {
  return static_cast<int64_t>(d.count());
}

class CApiComm : public ::testing::Test {
 protected:
  void SetUp() override {
    ecclMasterConfig_t config;
    ASSERT_EQ(ecclMasterConfigInit(&config), ecclSuccess) << lastError();
    config.listen_addr = "127.0.0.1:0";
    config.heartbeat_ms = 100;
    config.token_key_file = nullptr;
    ASSERT_EQ(ecclMasterCreate(&config, &master_), ecclSuccess) << lastError();
    uint16_t port = 0;
    ASSERT_EQ(ecclMasterGetPort(master_, &port), ecclSuccess);
    ASSERT_NE(port, 0);
    address_ = "127.0.0.1:" + std::to_string(port);
    run_ = std::async(std::launch::async, [this] { return ecclMasterRun(master_); });
  }

  void TearDown() override {
    for (ecclComm_t comm : comms_)
      EXPECT_EQ(ecclCommDestroy(comm), ecclSuccess);
    if (master_ != nullptr) {
      EXPECT_EQ(ecclMasterStop(master_), ecclSuccess);
      EXPECT_EQ(run_.get(), ecclSuccess);
      EXPECT_EQ(ecclMasterDestroy(master_), ecclSuccess);
    }
  }

  ecclComm_t addComm(uint32_t timeout_ms = 30'000) {
    ecclCommConfig_t config;
    EXPECT_EQ(ecclCommConfigInit(&config), ecclSuccess) << lastError();
    config.master = address_.c_str();
    config.group = "unit";
    config.listen_addr = "127.0.0.1:0";
    config.advertise_addr = nullptr;
    config.connections_per_peer = 2;
    config.timeout_ms = timeout_ms;
    ecclComm_t comm = nullptr;
    EXPECT_EQ(ecclCommCreate(&config, &comm), ecclSuccess) << lastError();
    comms_.push_back(comm);
    return comm;
  }

  // The first peer of the group, accepted at once.
  ecclComm_t addAcceptedComm() {
    ecclComm_t comm = addComm();
    EXPECT_EQ(ecclCommConnect(comm, ms(deadline(10s))), ecclSuccess) << lastError();
    return comm;
  }

  static ecclPeerId_t peerId(ecclComm_t comm) {
    ecclPeerId_t id{};
    EXPECT_EQ(ecclCommGetAttr(comm, ECCL_ATTR_PEER_ID, &id, sizeof(id)), ecclSuccess);
    return id;
  }

  // Polls comm's events until one says `peer` joined.
  static bool waitForJoin(ecclComm_t comm, const ecclPeerId_t& peer,
                          std::chrono::milliseconds timeout) {
    const auto until = Clock::now() + timeout;
    while (Clock::now() < until) {
      ecclEvent_t event{};
      event.struct_size = sizeof(event);
      EXPECT_EQ(ecclCommPollEvent(comm, &event), ecclSuccess);
      if (event.kind == ECCL_EVENT_PEER_JOINED &&
          std::memcmp(event.peer.bytes, peer.bytes, sizeof(peer.bytes)) == 0) {
        return true;
      }
      if (event.kind == ECCL_EVENT_NONE) std::this_thread::sleep_for(5ms);
    }
    return false;
  }

  ecclMaster_t master_ = nullptr;
  std::string address_;
  std::future<ecclResult_t> run_;
  std::vector<ecclComm_t> comms_;
};

TEST_F(CApiComm, AttributesBeforeAndAfterConnect) {
  ecclComm_t comm = addComm();
  int32_t rank = 7, world = 7;
  uint64_t revision = 7;
  ASSERT_EQ(ecclCommGetAttr(comm, ECCL_ATTR_RANK, &rank, sizeof(rank)), ecclSuccess);
  ASSERT_EQ(ecclCommGetAttr(comm, ECCL_ATTR_WORLD_SIZE, &world, sizeof(world)), ecclSuccess);
  ASSERT_EQ(ecclCommGetAttr(comm, ECCL_ATTR_REVISION, &revision, sizeof(revision)), ecclSuccess);
  EXPECT_EQ(rank, -1);
  EXPECT_EQ(world, 0);
  EXPECT_EQ(revision, 0u);

  ASSERT_EQ(ecclCommConnect(comm, ms(deadline(10s))), ecclSuccess) << lastError();
  ASSERT_EQ(ecclCommGetAttr(comm, ECCL_ATTR_RANK, &rank, sizeof(rank)), ecclSuccess);
  ASSERT_EQ(ecclCommGetAttr(comm, ECCL_ATTR_WORLD_SIZE, &world, sizeof(world)), ecclSuccess);
  ASSERT_EQ(ecclCommGetAttr(comm, ECCL_ATTR_REVISION, &revision, sizeof(revision)), ecclSuccess);
  EXPECT_EQ(rank, 0);
  EXPECT_EQ(world, 1);
  EXPECT_EQ(revision, 1u);
  char group[5];  // "unit" + NUL, exactly
  ASSERT_EQ(ecclCommGetAttr(comm, ECCL_ATTR_GROUP, group, sizeof(group)), ecclSuccess);
  EXPECT_STREQ(group, "unit");
  EXPECT_EQ(ecclCommGetAttr(comm, ECCL_ATTR_GROUP, group, 4), ecclInvalidArgument);
  EXPECT_NE(lastError().find("at least 5"), std::string::npos) << lastError();
  EXPECT_EQ(ecclCommGetAttr(comm, ECCL_ATTR_REVISION, &rank, sizeof(rank)), ecclInvalidArgument);
  EXPECT_NE(lastError().find("needs size 8"), std::string::npos) << lastError();
  EXPECT_EQ(ecclCommGetAttr(comm, static_cast<ecclCommAttr_t>(0), &rank, sizeof(rank)),
            ecclInvalidArgument);

  // Connecting twice is a usage error, not a hang.
  EXPECT_EQ(ecclCommConnect(comm, 10), ecclInvalidUsage);
}

TEST_F(CApiComm, PollEventOnAnEmptyQueueIsNone) {
  ecclComm_t comm = addAcceptedComm();
  ecclEvent_t event;
  std::memset(&event, 0x5a, sizeof(event));
  event.struct_size = sizeof(event);
  ASSERT_EQ(ecclCommPollEvent(comm, &event), ecclSuccess) << lastError();
  EXPECT_EQ(event.kind, ECCL_EVENT_NONE);
  EXPECT_EQ(event.revision, 0u);
  EXPECT_EQ(event.struct_size, sizeof(event));
  event.struct_size = sizeof(event) + 8;
  EXPECT_EQ(ecclCommPollEvent(comm, &event), ecclInvalidArgument);
  EXPECT_EQ(ecclCommPollEvent(comm, nullptr), ecclInvalidArgument);
  EXPECT_EQ(ecclCommPollEvent(nullptr, &event), ecclInvalidArgument);
}

TEST_F(CApiComm, ConnectTimesOutWhileNobodyAdmitsThePeer) {
  addAcceptedComm();  // it never updates the topology, so the next peer stays pending
  ecclComm_t waiting = addComm(static_cast<uint32_t>(ms(deadline(300ms))));
  const auto start = Clock::now();
  EXPECT_EQ(ecclCommConnect(waiting, -1), ecclTimeout) << lastError();  // the config's 300 ms
  const auto took = Clock::now() - start;
  EXPECT_GE(took, deadline(300ms) - 10ms);
  EXPECT_LT(took, deadline(5s));
  EXPECT_NE(lastError().find("ecclCommConnect"), std::string::npos) << lastError();
}

TEST_F(CApiComm, UpdateBeforeBeingAcceptedIsInvalidUsage) {
  ecclComm_t comm = addComm();
  EXPECT_EQ(ecclCommUpdateTopology(comm, 100), ecclInvalidUsage);
  EXPECT_NE(lastError().find("ecclCommUpdateTopology"), std::string::npos) << lastError();
}

TEST_F(CApiComm, AbortFromAnotherThreadEndsABlockedConnect) {
  addAcceptedComm();
  ecclComm_t waiting = addComm();
  auto connecting =
      std::async(std::launch::async, [&] { return ecclCommConnect(waiting, ms(deadline(30s))); });
  // Wait until the peer is registered and pending, so that Connect really
  // blocks: the first peer hears of it as a join.
  ASSERT_TRUE(waitForJoin(comms_.front(), peerId(waiting), deadline(10s)));
  EXPECT_EQ(connecting.wait_for(0ms), std::future_status::timeout);

  const auto start = Clock::now();
  ASSERT_EQ(ecclCommAbort(waiting), ecclSuccess);
  ASSERT_EQ(connecting.wait_for(deadline(1s)), std::future_status::ready);
  EXPECT_EQ(connecting.get(), ecclAborted);
  EXPECT_LT(Clock::now() - start, deadline(1s));
  // Aborted for good, and Abort itself is idempotent.
  EXPECT_EQ(ecclCommAbort(waiting), ecclSuccess);
  EXPECT_EQ(ecclCommUpdateTopology(waiting, 100), ecclAborted);
}

TEST_F(CApiComm, PeerIdToStringWritesLowercaseHex) {
  ecclPeerId_t id;
  for (int i = 0; i < 16; ++i)
    id.bytes[i] = static_cast<unsigned char>(i * 17);  // 00 11 22 ... ff
  char text[33];
  ASSERT_EQ(ecclPeerIdToString(&id, text, sizeof(text)), ecclSuccess);
  EXPECT_STREQ(text, "00112233445566778899aabbccddeeff");
  EXPECT_EQ(ecclPeerIdToString(&id, text, 32), ecclInvalidArgument);
  EXPECT_NE(lastError().find("at least 33"), std::string::npos) << lastError();
  EXPECT_EQ(ecclPeerIdToString(nullptr, text, sizeof(text)), ecclInvalidArgument);
  EXPECT_EQ(ecclPeerIdToString(&id, nullptr, sizeof(text)), ecclInvalidArgument);

  // A comm's id attribute is its 16 bytes; distinct comms have distinct ids.
  ecclPeerId_t a, b;
  ASSERT_EQ(ecclCommGetAttr(addComm(), ECCL_ATTR_PEER_ID, &a, sizeof(a)), ecclSuccess);
  ASSERT_EQ(ecclCommGetAttr(addComm(), ECCL_ATTR_PEER_ID, &b, sizeof(b)), ecclSuccess);
  EXPECT_NE(std::memcmp(a.bytes, b.bytes, sizeof(a.bytes)), 0);
}

TEST_F(CApiComm, MasterRunsOnceAndDestroyWaitsForRun) {
  // A connected peer proves that Run is in progress on the other thread.
  addAcceptedComm();
  EXPECT_EQ(ecclMasterRun(master_), ecclInvalidUsage);
  EXPECT_NE(lastError().find("already runs"), std::string::npos) << lastError();
  // Destroy while Run is in progress: it stops the master and waits for Run.
  ASSERT_EQ(ecclMasterDestroy(master_), ecclSuccess);
  master_ = nullptr;
  // Run has returned inside ECCL; the future becomes ready a moment later.
  ASSERT_EQ(run_.wait_for(deadline(1s)), std::future_status::ready);
  EXPECT_EQ(run_.get(), ecclSuccess);
}

TEST(CApiMaster, StopBeforeRunMakesRunReturnAtOnce) {
  ecclMasterConfig_t config;
  ASSERT_EQ(ecclMasterConfigInit(&config), ecclSuccess);
  config.listen_addr = "127.0.0.1:0";
  ecclMaster_t master = nullptr;
  ASSERT_EQ(ecclMasterCreate(&config, &master), ecclSuccess) << lastError();
  ASSERT_EQ(ecclMasterStop(master), ecclSuccess);
  EXPECT_EQ(ecclMasterRun(master), ecclSuccess);
  EXPECT_EQ(ecclMasterDestroy(master), ecclSuccess);
  EXPECT_EQ(ecclMasterDestroy(nullptr), ecclSuccess);
  EXPECT_EQ(ecclMasterStop(nullptr), ecclInvalidArgument);
  uint16_t port;
  EXPECT_EQ(ecclMasterGetPort(nullptr, &port), ecclInvalidArgument);
  EXPECT_EQ(ecclMasterRun(nullptr), ecclInvalidArgument);
}

TEST(CApiInit, IsIdempotentAndThreadSafe) {
  std::vector<std::future<ecclResult_t>> calls;
  for (int i = 0; i < 4; ++i)
    calls.push_back(std::async(std::launch::async, [] { return ecclInit(); }));
  for (auto& call : calls)
    EXPECT_EQ(call.get(), ecclSuccess);
  EXPECT_EQ(ecclInit(), ecclSuccess);
}

}  // namespace
}  // namespace eccl::test
