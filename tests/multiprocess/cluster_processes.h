// Real eccl-master and eccl-peer processes on 127.0.0.1 for multi-process
// tests: start them, read what they print, signal them. Each object owns its
// process; destroying it SIGKILLs and reaps whatever still runs.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "tools/common/child_process.h"
#include "tools/common/port_file.h"

namespace eccl::test {

using std::chrono::milliseconds;
using tools::ChildProcess;

// steady_clock in ns: what eccl-peer's "t_ns" is measured in (CLOCK_MONOTONIC).
int64_t steadyNowNs();

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

class MasterProcess {
 public:
  // eccl-master on 127.0.0.1:port (0: any) with --heartbeat-ms 100 --miss-limit 4;
  // returns once its port file exists (or nothing, with the reason in *error).
  // Its stderr goes to the test's, or is appended to `stderr_file` when one is named.
  static std::unique_ptr<MasterProcess> start(const TempDir& dir, uint16_t port,
                                              const std::vector<std::string>& extra_args,
                                              std::string* error,
                                              const std::string& stderr_file = "");
  uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  ChildProcess& process() { return *child_; }

 private:
  std::unique_ptr<ChildProcess> child_;
  uint16_t port_ = 0;
};

using tools::readPortFile;

class PeerProcess {
 public:
  // eccl-peer --json in group "g"; returns before it is admitted. Its stderr
  // goes to the test's, or is appended to `stderr_file` when one is named.
  static std::unique_ptr<PeerProcess> start(const std::string& master,
                                            const std::vector<std::string>& extra_args = {},
                                            const std::string& stderr_file = "");
  ChildProcess& process() { return *child_; }

  // The first line from index `from` on (older lines included) that matches;
  // reads more output until the timeout.
  std::optional<nlohmann::json> waitFor(const std::function<bool(const nlohmann::json&)>& match,
                                        milliseconds timeout, size_t from = 0);
  // The "admitted" line; also records this peer's id.
  std::optional<nlohmann::json> waitAdmitted(milliseconds timeout);
  // The first admitted/topology line with this world size (from line index `from` on).
  std::optional<nlohmann::json> waitWorld(int world_size, milliseconds timeout, size_t from = 0);
  // The first event of this kind naming `peer`.
  std::optional<nlohmann::json> waitEvent(const std::string& event, const std::string& peer,
                                          milliseconds timeout, size_t from = 0);
  // Reads what is printed for `quiet`, then returns every line so far.
  const std::vector<nlohmann::json>& drain(milliseconds quiet);
  const std::vector<nlohmann::json>& lines() const { return lines_; }
  const std::string& id() const { return id_; }
  // "peer 1a2b3c4d: running" / "peer 1a2b3c4d: exited with code 3", for failure messages.
  std::string describe();

 private:
  std::unique_ptr<ChildProcess> child_;
  std::vector<nlohmann::json> lines_;
  std::string id_;
};

}  // namespace eccl::test
