#include "tests/support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

extern char** environ;

namespace eccl::test {

using Clock = std::chrono::steady_clock;

Result<std::unique_ptr<ChildProcess>> ChildProcess::spawn(const std::vector<std::string>& argv) {
  if (argv.empty()) return invalidArgument("spawn: empty argv");
  int out[2];
  // O_CLOEXEC: no other child inherits this pipe, so end of output means this child exited.
  if (pipe2(out, O_CLOEXEC) != 0) return systemError(std::string("pipe2: ") + std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC
  std::vector<char*> args;
  for (const auto& arg : argv)
    args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int error = posix_spawn(&pid, argv[0].c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(out[1]);
  if (error != 0) {
    close(out[0]);
    return systemError("spawn " + argv[0] + ": " + std::strerror(error));
  }
  const size_t slash = argv[0].rfind('/');
  std::string name = slash == std::string::npos ? argv[0] : argv[0].substr(slash + 1);
  return std::unique_ptr<ChildProcess>(
      new ChildProcess(pid, out[0], name + "[" + std::to_string(pid) + "]"));
}

ChildProcess::~ChildProcess() {
  if (!reaped_) {
    kill(pid_, SIGCONT);
    kill(pid_, SIGKILL);
    waitpid(pid_, &wait_status_, 0);
  }
  close(stdout_fd_);
}

std::optional<std::string> ChildProcess::readLine(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    if (const size_t newline = buffer_.find('\n'); newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    if (eof_) return std::nullopt;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd fd{stdout_fd_, POLLIN, 0};
    const int ready = poll(&fd, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) return std::nullopt;
    char chunk[4096];
    const ssize_t got = read(stdout_fd_, chunk, sizeof chunk);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      eof_ = true;
    } else {
      buffer_.append(chunk, static_cast<size_t>(got));
    }
  }
}

bool ChildProcess::tryReap() {
  if (reaped_) return true;
  const pid_t done = waitpid(pid_, &wait_status_, WNOHANG);
  if (done == pid_) reaped_ = true;
  return reaped_;
}

bool ChildProcess::signal(int signal_number) {
  if (reaped_) return false;
  return kill(pid_, signal_number) == 0;
}

std::optional<int> ChildProcess::wait(std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!tryReap()) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return wait_status_;
}

bool ChildProcess::running() {
  return !tryReap();
}

}  // namespace eccl::test
