// A child process for multi-process tests: posix_spawn, stdout read line by
// line through a pipe with timeouts, signals, bounded waits, and no child left
// behind (the destructor SIGKILLs and reaps whatever still runs).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "src/common/status.h"

namespace eccl::test {

class ChildProcess {
 public:
  // argv[0] is the program's path. stdout comes through a pipe; stderr is the test's own.
  static Result<std::unique_ptr<ChildProcess>> spawn(const std::vector<std::string>& argv);
  // SIGCONT (a stopped child), SIGKILL, then reaps.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }

  // The next line of stdout without its newline; nothing at the timeout or at end of output.
  std::optional<std::string> readLine(std::chrono::milliseconds timeout);
  bool endOfOutput() const { return eof_; }

  // False once the child has been reaped (its pid may belong to someone else by then).
  bool signal(int signal_number);
  // The wait status once the child has exited (reaping it); nothing at the timeout.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  // True while it has not exited (an exited child is reaped here).
  bool running();

 private:
  ChildProcess(pid_t pid, int stdout_fd, std::string name)
      : pid_(pid), stdout_fd_(stdout_fd), name_(std::move(name)) {}
  bool tryReap();

  pid_t pid_;
  int stdout_fd_;
  std::string name_;
  std::string buffer_;
  bool eof_ = false;
  bool reaped_ = false;
  int wait_status_ = 0;
};

}  // namespace eccl::test
