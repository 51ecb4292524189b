// Child processes for the tools and the multi-process tests: fork + exec,
// output through a pipe or a file, waits bounded by a deadline, and no child
// left behind (destructor, SIGINT, SIGTERM, or the parent dying).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/status.h"

namespace eccl::tools {

// The absolute path of an executable found on PATH, or an empty string.
std::string findOnPath(std::string_view name);

// What a tool executes to run itself again (with a hidden subcommand): the
// kernel's link to this very binary, valid even if the file was replaced since.
inline constexpr const char* kSelfExecutable = "/proc/self/exe";

// The path of an executable installed next to this one (the tools are built
// and installed side by side); "" when there is none.
std::string besideSelf(const std::string& name);

// Kills every live child before the tool dies of SIGINT or SIGTERM. Call once, early.
void installChildCleanupOnSignals();

enum class ChildOutput {
  kInherit,  // the parent's stream
  kPipe,     // stdout only: readable with readLine()/readAll()
  kDevNull,
  kFile,  // appended to SpawnOptions::output_file
};

struct SpawnOptions {
  std::vector<std::string> argv;
  std::string program;  // the file to execute; empty: argv[0], which must then be a path
  std::string name;     // how messages name the child; empty: "iperf3[1234]" (argv[0]'s file, pid)
  ChildOutput stdout_to = ChildOutput::kInherit;
  ChildOutput stderr_to = ChildOutput::kInherit;
  std::string output_file;
};

class ChildProcess {
 public:
  using milliseconds = std::chrono::milliseconds;

  // Starts the child; fails if the program cannot be executed. The child gets
  // SIGKILL when the calling thread ends (PR_SET_PDEATHSIG): spawn from one
  // that outlives it.
  static Result<std::unique_ptr<ChildProcess>> spawn(const SpawnOptions& options);

  // SIGCONT (a stopped child), SIGKILL, then reaps a child that is still running.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& name() const { return name_; }

  // One line of the child's stdout (kPipe), without the newline. Fails at the
  // deadline, or at end of output.
  Result<std::string> readLine(milliseconds timeout);
  // The rest of its stdout up to end of output (kPipe).
  Result<std::string> readAll(milliseconds timeout);
  // True once the child closed its stdout and readLine() has no line left.
  bool endOfOutput() const { return stdout_eof_ && buffer_.find('\n') == std::string::npos; }

  // False once the child has been reaped (its pid may belong to someone else by then).
  bool signal(int signal_number);

  // Waits for the child to exit and reaps it; the wait status (see describeExit).
  Result<int> wait(milliseconds timeout);
  // True (and reaped) if it has exited already.
  bool hasExited();
  // SIGTERM (and SIGCONT), up to `grace` to exit, then SIGKILL; always reaps.
  void stop(milliseconds grace);

  bool reaped() const { return reaped_; }
  int waitStatus() const { return wait_status_; }

  // "exited with code 1", "killed by signal 9 (Killed)".
  static std::string describeExit(int wait_status);
  static bool exitedCleanly(int wait_status);

 private:
  ChildProcess(pid_t pid, std::string name, int stdout_fd);
  // Appends what the pipe has to buffer_, waiting until the deadline for something.
  Status readSome(std::chrono::steady_clock::time_point deadline);
  bool tryReap();

  pid_t pid_;
  std::string name_;
  int stdout_fd_;  // -1 unless kPipe
  bool stdout_eof_ = false;
  std::string buffer_;
  bool reaped_ = false;
  int wait_status_ = 0;
};

}  // namespace eccl::tools
