// The master's dashboard (GET /) in a real browser: headless Debian chromium
// loads it from a running cluster with a hung peer, and its DOM must show
// every peer and the hung_peer finding. A screenshot goes to the artefacts.
#include <httplib.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/multiprocess/process_cluster.h"

namespace eccl::test {
namespace {

// (PeerProcess already passes --connections 1 and --json.)
const std::vector<std::string> kTrainer = {"--allreduce-size", "1M", "--step-ms", "50"};
// The victim trains a few steps, then stops calling collectives while its
// heartbeats go on: its ring blocks on its op header, which is a hung peer.
// (A SIGSTOPped peer is no hung peer: it stops heartbeating, and its ring waits
// in the topology update or the data phase, not for its header.)
constexpr const char* kHangStep = "10";
constexpr std::chrono::seconds kBrowserTimeout{60};

// The page's script runs this long in virtual time: two or three refreshes.
constexpr const char* kVirtualTimeBudget = "--virtual-time-budget=3000";

struct BrowserRun {
  std::string stdout_text;
  int wait_status = 0;
};

class DashboardBrowser : public ProcessCluster {
 protected:
  // Runs headless chromium on `url` with `extra` flags and a fresh profile
  // under the test's temp dir; returns what it printed. Its whole process
  // group is killed afterwards, whatever happened.
  std::optional<BrowserRun> runChromium(const std::string& url,
                                        const std::vector<std::string>& extra) {
    const std::string chromium = tools::findOnPath("chromium");
    const std::string setsid = tools::findOnPath("setsid");
    EXPECT_FALSE(chromium.empty())
        << "chromium is not installed (scripts/install-deps.sh --tests installs it)";
    EXPECT_FALSE(setsid.empty()) << "setsid (util-linux) is not installed";
    if (chromium.empty() || setsid.empty()) return std::nullopt;
    const std::string profile = dir_.file("chromium-profile-" + std::to_string(++runs_));
    // setsid makes chromium lead a process group of its own (a forked child is
    // no group leader, so setsid execs in place and keeps the pid): its
    // renderer and utility processes can then be killed together.
    std::vector<std::string> argv = {setsid,
                                     chromium,
                                     "--headless",
                                     "--no-sandbox",
                                     "--disable-gpu",
                                     "--disable-dev-shm-usage",
                                     "--no-first-run",
                                     "--user-data-dir=" + profile,
                                     kVirtualTimeBudget};
    argv.insert(argv.end(), extra.begin(), extra.end());
    argv.push_back(url);
    auto child = tools::ChildProcess::spawn({.argv = argv,
                                             .name = "chromium",
                                             .stdout_to = tools::ChildOutput::kPipe,
                                             .stderr_to = tools::ChildOutput::kFile,
                                             .output_file = dir_.file("chromium.stderr")});
    EXPECT_TRUE(child) << child.status().toString();
    if (!child) return std::nullopt;
    const pid_t group = (*child)->pid();
    BrowserRun run;
    auto text = (*child)->readAll(kBrowserTimeout);
    auto status =
        (*child)->wait(text ? std::chrono::milliseconds(5000) : std::chrono::milliseconds(0));
    ::kill(-group, SIGKILL);
    (*child).reset();  // SIGKILLs and reaps the leader if it still runs
    std::error_code ignored;
    std::filesystem::remove_all(profile, ignored);
    EXPECT_TRUE(text) << "chromium printed nothing within " << kBrowserTimeout.count()
                      << " s: " << text.status().toString() << "; stderr in "
                      << dir_.file("chromium.stderr");
    EXPECT_TRUE(status) << "chromium did not exit";
    if (!text || !status) return std::nullopt;
    run.stdout_text = *text;
    run.wait_status = *status;
    return run;
  }

  int runs_ = 0;
};

std::optional<nlohmann::json> getStatus(httplib::Client& client) {
  auto response = client.Get("/status");
  if (!response || response->status != 200) return std::nullopt;
  return nlohmann::json::parse(response->body);
}

bool hasHungFinding(const nlohmann::json& status, const std::string& peer) {
  for (const auto& finding : status["anomalies"]["findings"]) {
    if (finding["kind"] == "hung_peer" && finding["peer"] == peer) return true;
  }
  return false;
}

TEST_F(DashboardBrowser, ShowsTheClusterAndAHungPeerInChromium) {
  const auto began = std::chrono::steady_clock::now();
  const std::string http_port_file = dir_.file("http.port");
  // Found hung after 1 s blocked on it, and left in the ring (reported only)
  // so that the page shows it with its badge.
  startMaster(0, {"--http", "127.0.0.1:0", "--http-port-file", http_port_file, "--hung-ms", "1000",
                  "--no-evict-hung"});
  auto http_port = readPortFile(http_port_file, deadline(5s));
  ASSERT_TRUE(http_port) << "no HTTP port file";
  for (int i = 0; i < 3; ++i)
    ASSERT_TRUE(addPeer(kTrainer).waitAdmitted(deadline(20s)));
  auto victim_args = kTrainer;
  victim_args.insert(victim_args.end(), {"--hang-step", kHangStep});
  PeerProcess& victim = addPeer(victim_args);
  ASSERT_TRUE(victim.waitAdmitted(deadline(20s)));

  httplib::Client client("127.0.0.1", *http_port);
  nlohmann::json status;
  const auto until = std::chrono::steady_clock::now() + deadline(30s);
  while (true) {
    auto fetched = getStatus(client);
    ASSERT_TRUE(fetched) << "GET /status failed";
    status = *fetched;
    if (hasHungFinding(status, victim.id())) break;
    ASSERT_LT(std::chrono::steady_clock::now(), until)
        << "no hung_peer finding for " << victim.id() << ": " << status.dump();
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_EQ(status["peers"].size(), 4u) << status.dump();
  std::printf("[ cluster ] hung_peer found %.1f s after the test began\n",
              std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count());

  const std::string url = "http://127.0.0.1:" + std::to_string(*http_port) + "/";
  const auto browser_began = std::chrono::steady_clock::now();
  auto dom = runChromium(url, {"--dump-dom"});
  ASSERT_TRUE(dom);
  EXPECT_TRUE(ChildProcess::exitedCleanly(dom->wait_status))
      << ChildProcess::describeExit(dom->wait_status);
  const std::string& html = dom->stdout_text;
  auto contains = [&](const std::string& text) { return html.find(text) != std::string::npos; };
  EXPECT_TRUE(contains("last update")) << "the page never rendered a /status: " << html;
  for (const auto& peer : status["peers"]) {
    const std::string id = peer["id"].get<std::string>();
    EXPECT_TRUE(contains("<tr data-peer=\"" + id + "\""))
        << "no row for peer " << id << ": " << html;
  }
  EXPECT_TRUE(contains("<tr data-peer=\"" + victim.id() + "\" class=\"hung\">"))
      << "the hung peer has no hung badge: " << html;
  EXPECT_TRUE(contains("<tr data-kind=\"hung_peer\" data-peer=\"" + victim.id() + "\">"))
      << "no hung_peer finding row: " << html;
  EXPECT_TRUE(contains("data-group=\"g\"")) << "no link matrix for group g: " << html;

  const std::filesystem::path artefacts = ECCL_TEST_ARTEFACTS_DIR;
  std::filesystem::create_directories(artefacts);
  const std::filesystem::path screenshot = artefacts / "dashboard.png";
  std::filesystem::remove(screenshot);
  auto shot = runChromium(
      url, {"--window-size=1280,1000", "--hide-scrollbars", "--screenshot=" + screenshot.string()});
  ASSERT_TRUE(shot);
  ASSERT_TRUE(std::filesystem::exists(screenshot)) << "chromium wrote no screenshot";
  // A blank page of this size compresses to a few KB; one with tables and text does not.
  EXPECT_GT(std::filesystem::file_size(screenshot), 20'000u);
  std::ifstream png(screenshot, std::ios::binary);
  char signature[8] = {};
  png.read(signature, sizeof(signature));
  EXPECT_EQ(std::string(signature + 1, 3), "PNG");
  std::printf(
      "[ browser ] two chromium runs took %.1f s; screenshot: %s\n",
      std::chrono::duration<double>(std::chrono::steady_clock::now() - browser_began).count(),
      screenshot.c_str());
}

}  // namespace
}  // namespace eccl::test
