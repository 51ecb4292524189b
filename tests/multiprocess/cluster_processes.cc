#include "tests/multiprocess/cluster_processes.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/support/test_env.h"

namespace eccl::test {

using Clock = std::chrono::steady_clock;

int64_t steadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch())
      .count();
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern =
      std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/eccl-multiprocess-XXXXXX";
  if (mkdtemp(pattern.data()) != nullptr) path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;
  if (!path_.empty()) std::filesystem::remove_all(path_, ignored);
}

std::unique_ptr<MasterProcess> MasterProcess::start(const TempDir& dir, uint16_t port,
                                                    const std::vector<std::string>& extra_args,
                                                    std::string* error,
                                                    const std::string& stderr_file) {
  const std::string port_file = dir.file("master.port");
  std::filesystem::remove(port_file);
  std::vector<std::string> argv = {
      ECCL_MASTER_BIN, "--listen",     "127.0.0.1:" + std::to_string(port),
      "--port-file",   port_file,      "--heartbeat-ms",
      "100",           "--miss-limit", "4",
      "--log-level",   "warn"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  auto child = ChildProcess::spawn(
      {.argv = argv,
       .stdout_to = tools::ChildOutput::kPipe,
       .stderr_to = stderr_file.empty() ? tools::ChildOutput::kInherit : tools::ChildOutput::kFile,
       .output_file = stderr_file});
  if (!child) {
    *error = child.status().toString();
    return nullptr;
  }
  auto master = std::unique_ptr<MasterProcess>(new MasterProcess());
  master->child_ = std::move(*child);
  // The port file appears once the socket is bound, or the master exits (address in use).
  const auto until = Clock::now() + deadline(milliseconds(5'000));
  while (true) {
    if (auto bound = readPortFile(port_file, milliseconds(20))) {
      master->port_ = *bound;
      return master;
    }
    if (auto status = master->child_->wait(milliseconds(0))) {
      *error = "eccl-master " + ChildProcess::describeExit(*status);
      return nullptr;
    }
    if (Clock::now() >= until) {
      *error = "eccl-master wrote no port file";
      return nullptr;
    }
  }
}

std::unique_ptr<PeerProcess> PeerProcess::start(const std::string& master,
                                                const std::vector<std::string>& extra_args,
                                                const std::string& stderr_file) {
  std::vector<std::string> argv = {ECCL_PEER_BIN,
                                   "--master",
                                   master,
                                   "--group",
                                   "g",
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--connections",
                                   "1",
                                   "--timeout-ms",
                                   std::to_string(deadline(milliseconds(30'000)).count()),
                                   "--json"};
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  auto child = ChildProcess::spawn(
      {.argv = argv,
       .stdout_to = tools::ChildOutput::kPipe,
       .stderr_to = stderr_file.empty() ? tools::ChildOutput::kInherit : tools::ChildOutput::kFile,
       .output_file = stderr_file});
  if (!child) return nullptr;
  auto peer = std::unique_ptr<PeerProcess>(new PeerProcess());
  peer->child_ = std::move(*child);
  return peer;
}

std::optional<nlohmann::json> PeerProcess::waitFor(
    const std::function<bool(const nlohmann::json&)>& match, milliseconds timeout, size_t from) {
  for (size_t i = from; i < lines_.size(); ++i) {
    if (match(lines_[i])) return lines_[i];
  }
  const auto until = Clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<milliseconds>(until - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto text = child_->readLine(left);
    if (!text) return std::nullopt;
    auto line = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
    if (line.is_discarded()) {
      ADD_FAILURE() << child_->name() << " printed a line that is not JSON: " << *text;
      continue;
    }
    lines_.push_back(line);
    if (match(line)) return line;
  }
}

std::optional<nlohmann::json> PeerProcess::waitAdmitted(milliseconds timeout) {
  auto line = waitFor([](const auto& l) { return l["event"] == "admitted"; }, timeout);
  if (line) id_ = (*line)["peer"];
  return line;
}

std::optional<nlohmann::json> PeerProcess::waitWorld(int world_size, milliseconds timeout,
                                                     size_t from) {
  return waitFor(
      [world_size](const auto& l) {
        return (l["event"] == "admitted" || l["event"] == "topology") &&
               l["world_size"] == world_size;
      },
      timeout, from);
}

std::optional<nlohmann::json> PeerProcess::waitEvent(const std::string& event,
                                                     const std::string& peer, milliseconds timeout,
                                                     size_t from) {
  return waitFor([&](const auto& l) { return l["event"] == event && l["peer"] == peer; }, timeout,
                 from);
}

const std::vector<nlohmann::json>& PeerProcess::drain(milliseconds quiet) {
  waitFor([](const auto&) { return false; }, quiet, lines_.size());
  return lines_;
}

std::string PeerProcess::describe() {
  const std::string name = "peer " + (id_.empty() ? child_->name() : id_.substr(0, 8)) + ": ";
  if (auto status = child_->wait(milliseconds(0)))
    return name + ChildProcess::describeExit(*status);
  return name + "running";
}

}  // namespace eccl::test
