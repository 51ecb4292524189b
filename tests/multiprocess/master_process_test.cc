// eccl-master as a process: its HTTP endpoint (/status JSON, /metrics text, / dashboard)
// with real peers, and a clean stop on SIGTERM.
#include <httplib.h>
#include <signal.h>

#include <set>
#include <thread>

#include "tests/multiprocess/process_cluster.h"

namespace eccl::test {
namespace {

class MasterProcesses : public ProcessCluster {
 protected:
  uint16_t startMasterWithHttp() {
    const std::string port_file = dir_.file("http.port");
    startMaster(0, {"--http", "127.0.0.1:0", "--http-port-file", port_file});
    auto port = readPortFile(port_file, deadline(5s));
    EXPECT_TRUE(port) << "no HTTP port file";
    return port.value_or(0);
  }
};

TEST_F(MasterProcesses, HttpServesStatusAndMetrics) {
  const uint16_t http_port = startMasterWithHttp();
  ASSERT_NE(http_port, 0);
  wave(1);
  wave(1);
  httplib::Client client("127.0.0.1", http_port);
  // The endpoint serves snapshots the loop refreshes every 200 ms: wait for one with both peers.
  nlohmann::json status;
  const auto until = std::chrono::steady_clock::now() + deadline(5s);
  while (true) {
    auto response = client.Get("/status");
    ASSERT_TRUE(response) << "GET /status failed";
    ASSERT_EQ(response->status, 200);
    EXPECT_EQ(response->get_header_value("Content-Type"), "application/json");
    status = nlohmann::json::parse(response->body);  // throws (fails the test) if not JSON
    const auto& peers = status["peers"];
    // Accepted, and each has sent a heartbeat (every 100 ms) since it registered.
    const auto ready = [](const nlohmann::json& peer) {
      return peer["state"] == "accepted" && peer["heartbeats"].get<uint64_t>() > 0;
    };
    if (peers.size() == 2 && ready(peers[0]) && ready(peers[1])) break;
    ASSERT_LT(std::chrono::steady_clock::now(), until) << status.dump();
    std::this_thread::sleep_for(50ms);
  }
  EXPECT_GT(status["incarnation"].get<uint64_t>(), 0u);
  std::set<std::string> ids;
  std::set<int> ranks;
  for (const auto& peer : status["peers"]) {
    ids.insert(peer["id"].get<std::string>());
    ranks.insert(peer["rank"].get<int>());
    EXPECT_EQ(peer["group"], "g");
    EXPECT_EQ(peer["address"].get<std::string>().rfind("127.0.0.1:", 0), 0u) << peer.dump();
    EXPECT_GE(peer["heartbeat_age_ms"].get<int64_t>(), 0);
    EXPECT_GT(peer["heartbeats"].get<uint64_t>(), 0u);
  }
  EXPECT_EQ(ids, (std::set<std::string>{peers_[0]->id(), peers_[1]->id()}));
  EXPECT_EQ(ranks, (std::set<int>{0, 1}));
  ASSERT_EQ(status["groups"].size(), 1u);
  const auto& group = status["groups"][0];
  EXPECT_EQ(group["name"], "g");
  EXPECT_EQ(group["accepted"], 2);
  EXPECT_EQ(group["pending"], 0);
  EXPECT_EQ(group["reconfiguring"], false);
  EXPECT_EQ(group["revision"], peers_[1]->lines().back()["revision"]);

  // The dashboard: one self-contained page whose script polls /status.
  auto page = client.Get("/");
  ASSERT_TRUE(page) << "GET / failed";
  ASSERT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(page->body.rfind("<!doctype html>", 0), 0u) << page->body.substr(0, 200);
  EXPECT_NE(page->body.find("fetch(\"/status\""), std::string::npos);
  EXPECT_NE(page->body.find("id=\"peers\""), std::string::npos);
  EXPECT_EQ(page->body.find("src=\"http"), std::string::npos) << "the page must work offline";

  auto metrics = client.Get("/metrics");
  ASSERT_TRUE(metrics) << "GET /metrics failed";
  ASSERT_EQ(metrics->status, 200);
  const std::string& text = metrics->body;
  EXPECT_NE(text.find("\neccl_master_peers{state=\"accepted\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\neccl_master_peers{state=\"pending\"} 0\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\neccl_master_groups 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\neccl_master_registrations_total 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("# TYPE eccl_master_commits_total counter\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\neccl_master_incarnation " + status["incarnation"].dump() + "\n"),
            std::string::npos)
      << text;
}

TEST_F(MasterProcesses, SigtermStopsTheMasterWithExitCodeZero) {
  ASSERT_NE(startMasterWithHttp(), 0);
  wave(1);
  wave(1);
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(master_->process().signal(SIGTERM));
  auto status = master_->process().wait(deadline(2s));
  ASSERT_TRUE(status) << "eccl-master still runs 2 s after SIGTERM";
  EXPECT_TRUE(ChildProcess::exitedCleanly(*status)) << ChildProcess::describeExit(*status);
  std::printf(
      "[ stop ] eccl-master exited %.1f ms after SIGTERM\n",
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
}

}  // namespace
}  // namespace eccl::test
