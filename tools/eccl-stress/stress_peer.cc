#include "tools/eccl-stress/stress_peer.h"

#include <signal.h>
#include <sys/wait.h>

#include <deque>
#include <fstream>

namespace eccl::tools::stress {
namespace {

// eccl-peer's exit code when the master removed it from its group.
constexpr int kExitRemoved = 3;

}  // namespace

Result<std::unique_ptr<StressPeer>> StressPeer::spawn(int index, int host, const PeerLaunch& launch,
                                                      const std::vector<std::string>& extra_args) {
  auto peer = std::make_unique<StressPeer>();
  peer->index = index;
  peer->host = launch.lab != nullptr ? host : -1;
  const std::string listen =
      (launch.lab != nullptr ? launch.lab->addressOf(host) : std::string("127.0.0.1")) + ":0";
  peer->log_path = launch.work_dir + "/peer-" + std::to_string(index) + ".log";
  std::vector<std::string> argv = {launch.binary,
                                   "--master",
                                   launch.master,
                                   "--group",
                                   "stress",
                                   "--listen",
                                   listen,
                                   "--connections",
                                   "1",
                                   "--timeout-ms",
                                   std::to_string(launch.op_timeout.count()),
                                   "--allreduce-size",
                                   std::to_string(launch.size_bytes),
                                   "--step-ms",
                                   std::to_string(launch.step.count()),
                                   "--input-seed",
                                   std::to_string(launch.input_seed),
                                   "--json"};
  argv.insert(argv.end(), launch.workload_args.begin(), launch.workload_args.end());
  argv.insert(argv.end(), extra_args.begin(), extra_args.end());
  // `ip netns exec` execs the peer in place: signals reach the peer itself.
  if (launch.lab != nullptr) argv = launch.lab->inside(host, std::move(argv));
  auto child = ChildProcess::spawn({.argv = argv,
                                    .name = "peer " + std::to_string(index),
                                    .stdout_to = ChildOutput::kPipe,
                                    .stderr_to = ChildOutput::kFile,
                                    .output_file = peer->log_path});
  if (!child) return child.status();
  peer->child = std::move(*child);
  peer->spawned = Clock::now();
  peer->last_progress = peer->spawned;
  return peer;
}

std::string StressPeer::expectedExit(int wait_status) const {
  const bool signalled = WIFSIGNALED(wait_status);
  const int code = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
  if (killed && signalled && WTERMSIG(wait_status) == SIGKILL) return "killed";
  if ((leaving || shutting_down) && code == 0) return "left";
  // A peer stopped past the master's detection finds itself removed once it runs again,
  // and one asked to leave may find the same.
  if (hung && code == kExitRemoved) return "removed after its hang";
  if ((leaving || shutting_down) && code == kExitRemoved) return "removed while leaving";
  return "";
}

std::string StressPeer::logTail(size_t lines) const {
  std::ifstream file(log_path);
  std::deque<std::string> tail;
  for (std::string line; std::getline(file, line);) {
    tail.push_back(line);
    if (tail.size() > lines) tail.pop_front();
  }
  std::string text;
  for (const auto& line : tail)
    text += "    " + line + "\n";
  return text;
}

}  // namespace eccl::tools::stress
