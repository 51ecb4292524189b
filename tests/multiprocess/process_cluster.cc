#include "tests/multiprocess/process_cluster.h"

#include <algorithm>
#include <fstream>
#include <iterator>
#include <thread>

namespace eccl::test {

void ProcessCluster::startMaster(uint16_t port, const std::vector<std::string>& extra_args) {
  // A restarted master may find its port briefly taken: retry for about 2 s.
  const auto until = std::chrono::steady_clock::now() + deadline(2s);
  std::string error;
  while (!(master_ = MasterProcess::start(dir_, port, extra_args, &error))) {
    ASSERT_LT(std::chrono::steady_clock::now(), until) << "cannot start eccl-master: " << error;
    std::this_thread::sleep_for(50ms);
  }
}

PeerProcess& ProcessCluster::addPeer(const std::vector<std::string>& extra_args) {
  auto peer = PeerProcess::start(master_->address(), extra_args);
  EXPECT_TRUE(peer != nullptr) << "cannot start eccl-peer";
  peers_.push_back(std::move(peer));
  return *peers_.back();
}

void ProcessCluster::wave(int count) {
  const size_t first_new = peers_.size();
  for (int i = 0; i < count; ++i)
    addPeer();
  for (size_t i = first_new; i < peers_.size(); ++i) {
    ASSERT_TRUE(peers_[i]->waitAdmitted(deadline(20s))) << "peer " << i << " was not admitted";
  }
  const int world = static_cast<int>(peers_.size());
  for (size_t i = 0; i < peers_.size(); ++i) {
    ASSERT_TRUE(peers_[i]->waitWorld(world, deadline(20s)))
        << "peer " << i << " never reached world size " << world;
  }
}

std::vector<nlohmann::json> ProcessCluster::ringLines(const std::vector<PeerProcess*>& peers) {
  std::vector<nlohmann::json> out;
  for (auto* peer : peers) {
    const auto& lines = peer->lines();
    auto last = std::find_if(lines.rbegin(), lines.rend(), [](const auto& l) {
      return l["event"] == "admitted" || l["event"] == "topology";
    });
    out.push_back(last == lines.rend() ? nlohmann::json() : *last);
  }
  return out;
}

void ProcessCluster::expectOneRing(const std::vector<PeerProcess*>& peers) {
  std::set<int> ranks;
  std::set<uint64_t> revisions;
  const auto lines = ringLines(peers);
  for (const auto& line : lines) {
    ASSERT_FALSE(line.is_null());
    EXPECT_EQ(line["world_size"], static_cast<int>(peers.size())) << line.dump();
    ranks.insert(line["rank"].get<int>());
    revisions.insert(line["revision"].get<uint64_t>());
  }
  std::set<int> expected;
  for (int r = 0; r < static_cast<int>(peers.size()); ++r)
    expected.insert(r);
  EXPECT_EQ(ranks, expected);
  EXPECT_EQ(revisions.size(), 1u) << "peers disagree on the revision";
}

std::vector<PeerProcess*> ProcessCluster::peers(const std::vector<size_t>& except) {
  std::vector<PeerProcess*> out;
  for (size_t i = 0; i < peers_.size(); ++i) {
    if (std::find(except.begin(), except.end(), i) == except.end()) out.push_back(peers_[i].get());
  }
  return out;
}

std::string ProcessCluster::readFile(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

bool ProcessCluster::waitForText(const std::string& path, const std::string& text,
                                 std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    if (readFile(path).find(text) != std::string::npos) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

}  // namespace eccl::test
