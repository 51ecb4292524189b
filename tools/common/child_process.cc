#include "tools/common/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

namespace eccl::tools {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Running children, for the signal handler: lock-free slots it may read.
constexpr int kMaxChildren = 64;
std::atomic<pid_t> g_live_children[kMaxChildren];

bool registerChild(pid_t pid) {
  for (auto& slot : g_live_children) {
    pid_t empty = 0;
    if (slot.compare_exchange_strong(empty, pid)) return true;
  }
  return false;
}

void unregisterChild(pid_t pid) {
  for (auto& slot : g_live_children) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

// Async-signal-safe: kill, waitpid, signal and raise only.
void killChildrenAndDie(int signal_number) {
  for (auto& slot : g_live_children) {
    const pid_t pid = slot.exchange(0);
    if (pid <= 0) continue;
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
  }
  signal(signal_number, SIG_DFL);
  raise(signal_number);
}

std::string errnoText(const std::string& what, int error) {
  return what + ": " + std::strerror(error);
}

milliseconds remaining(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  return std::max(left, milliseconds(0));
}

// The descriptor a child's stdout or stderr becomes (-1: leave the parent's).
int childTarget(ChildOutput output, int pipe_write, int null_fd, int file_fd) {
  switch (output) {
    case ChildOutput::kInherit:
      return -1;
    case ChildOutput::kPipe:
      return pipe_write;
    case ChildOutput::kDevNull:
      return null_fd;
    case ChildOutput::kFile:
      return file_fd;
  }
  return -1;
}

}  // namespace

std::string besideSelf(const std::string& name) {
  std::error_code error;
  const auto self = std::filesystem::read_symlink(kSelfExecutable, error);
  if (error) return "";
  const auto path = self.parent_path() / name;
  return access(path.c_str(), X_OK) == 0 ? path.string() : "";
}

std::string findOnPath(std::string_view name) {
  const char* path = std::getenv("PATH");
  if (path == nullptr) return {};
  std::string_view dirs(path);
  while (true) {
    const size_t colon = dirs.find(':');
    std::string candidate(dirs.substr(0, colon));
    if (candidate.empty()) candidate.push_back('.');  // an empty PATH entry means "here"
    candidate.push_back('/');
    candidate.append(name);
    struct stat info {};
    if (stat(candidate.c_str(), &info) == 0 && S_ISREG(info.st_mode) &&
        access(candidate.c_str(), X_OK) == 0) {
      return candidate;
    }
    if (colon == std::string_view::npos) return {};
    dirs.remove_prefix(colon + 1);
  }
}

void installChildCleanupOnSignals() {
  struct sigaction action {};
  action.sa_handler = killChildrenAndDie;
  sigemptyset(&action.sa_mask);
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP})
    sigaction(signal_number, &action, nullptr);
}

Result<std::unique_ptr<ChildProcess>> ChildProcess::spawn(const SpawnOptions& options) {
  if (options.argv.empty()) return invalidArgument("spawn: empty argv");
  if (options.stderr_to == ChildOutput::kPipe) {
    return invalidArgument("spawn: only stdout can go to a pipe");
  }
  const std::string program = options.program.empty() ? options.argv[0] : options.program;

  // Everything the child touches is prepared now: between fork and exec it may
  // only make async-signal-safe calls (the parent has I/O threads).
  std::vector<char*> argv;
  for (const auto& arg : options.argv)
    argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);

  int stdout_pipe[2] = {-1, -1};
  int exec_error_pipe[2] = {-1, -1};
  int file_fd = -1;
  const int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  auto closeAll = [&] {
    for (int fd : {stdout_pipe[0], stdout_pipe[1], exec_error_pipe[0], exec_error_pipe[1], file_fd,
                   null_fd}) {
      if (fd >= 0) close(fd);
    }
  };
  if (null_fd < 0) return systemError(errnoText("open /dev/null", errno));
  if (options.stdout_to == ChildOutput::kPipe && pipe2(stdout_pipe, O_CLOEXEC) != 0) {
    closeAll();
    return systemError(errnoText("pipe", errno));
  }
  if (options.stdout_to == ChildOutput::kFile || options.stderr_to == ChildOutput::kFile) {
    file_fd = open(options.output_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (file_fd < 0) {
      closeAll();
      return systemError(errnoText("open " + options.output_file, errno));
    }
  }
  // exec() closes this pipe (O_CLOEXEC); if exec fails the child writes errno into it.
  if (pipe2(exec_error_pipe, O_CLOEXEC) != 0) {
    closeAll();
    return systemError(errnoText("pipe", errno));
  }
  const int stdout_target = childTarget(options.stdout_to, stdout_pipe[1], null_fd, file_fd);
  const int stderr_target = childTarget(options.stderr_to, -1, null_fd, file_fd);
  const pid_t parent = getpid();

  // Signals stay blocked from fork until the child is registered, so that a
  // Ctrl-C in between cannot leave it running; the child unblocks them itself.
  sigset_t all_signals, previous_mask;
  sigfillset(&all_signals);
  pthread_sigmask(SIG_BLOCK, &all_signals, &previous_mask);
  const pid_t pid = fork();
  if (pid == 0) {
    for (int signal_number : {SIGINT, SIGTERM, SIGHUP, SIGPIPE})
      ::signal(signal_number, SIG_DFL);
    // Die with the parent, even if it is SIGKILLed.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(null_fd, STDIN_FILENO);
    if (stdout_target >= 0) dup2(stdout_target, STDOUT_FILENO);
    if (stderr_target >= 0) dup2(stderr_target, STDERR_FILENO);
    // No inherited socket or pipe of the parent (ECCL connections) stays open in the child.
    close_range(3, ~0u, CLOSE_RANGE_CLOEXEC);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    execv(program.c_str(), argv.data());
    const int error = errno;
    [[maybe_unused]] ssize_t ignored = write(exec_error_pipe[1], &error, sizeof(error));
    _exit(127);
  }
  const int fork_error = errno;
  const bool registered = pid > 0 && registerChild(pid);
  pthread_sigmask(SIG_SETMASK, &previous_mask, nullptr);

  for (int* fd : {&stdout_pipe[1], &exec_error_pipe[1], &file_fd}) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
  }
  if (pid < 0) {
    closeAll();
    return systemError(errnoText("fork", fork_error));
  }
  std::string name = options.name;
  if (name.empty()) {
    const size_t slash = options.argv[0].rfind('/');
    name = options.argv[0].substr(slash == std::string::npos ? 0 : slash + 1) + "[" +
           std::to_string(pid) + "]";
  }
  auto child =
      std::unique_ptr<ChildProcess>(new ChildProcess(pid, std::move(name), stdout_pipe[0]));
  stdout_pipe[0] = -1;  // owned by child now
  if (!registered) {
    closeAll();
    return internalError("more than " + std::to_string(kMaxChildren) + " child processes");
  }

  int exec_error = 0;
  ssize_t got;
  do {
    got = read(exec_error_pipe[0], &exec_error, sizeof(exec_error));
  } while (got < 0 && errno == EINTR);
  closeAll();
  if (got == static_cast<ssize_t>(sizeof(exec_error))) {
    return systemError(errnoText("cannot execute " + program, exec_error));
  }
  return child;
}

ChildProcess::ChildProcess(pid_t pid, std::string name, int stdout_fd)
    : pid_(pid), name_(std::move(name)), stdout_fd_(stdout_fd) {}

ChildProcess::~ChildProcess() {
  if (!reaped_) {
    kill(pid_, SIGCONT);
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    unregisterChild(pid_);
  }
  if (stdout_fd_ >= 0) close(stdout_fd_);
}

bool ChildProcess::tryReap() {
  if (reaped_) return true;
  // Look without reaping first: the pid stays ours (not reusable) until it is
  // out of the signal handler's table.
  siginfo_t info{};
  int result;
  do {
    result = waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT);
  } while (result < 0 && errno == EINTR);
  if (result == 0 && info.si_pid == 0) return false;  // still running
  unregisterChild(pid_);
  int status = 0;
  pid_t reaped;
  do {
    reaped = waitpid(pid_, &status, 0);
  } while (reaped < 0 && errno == EINTR);
  reaped_ = true;
  wait_status_ = reaped == pid_ ? status : 0;
  return true;
}

bool ChildProcess::hasExited() {
  return tryReap();
}

bool ChildProcess::signal(int signal_number) {
  return !reaped_ && kill(pid_, signal_number) == 0;
}

Result<int> ChildProcess::wait(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  auto pause = milliseconds(1);
  while (!tryReap()) {
    if (Clock::now() >= deadline) {
      return timeoutError(name_ + " (pid " + std::to_string(pid_) + ") did not exit within " +
                          std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(std::min(pause, remaining(deadline)));
    pause = std::min(pause * 2, milliseconds(20));
  }
  return wait_status_;
}

void ChildProcess::stop(milliseconds grace) {
  if (tryReap()) return;
  kill(pid_, SIGTERM);
  kill(pid_, SIGCONT);
  if (wait(grace)) return;
  kill(pid_, SIGKILL);
  while (!tryReap())
    std::this_thread::sleep_for(milliseconds(1));
}

Status ChildProcess::readSome(Clock::time_point deadline) {
  if (stdout_fd_ < 0) return invalidUsage(name_ + ": stdout is not a pipe");
  while (true) {
    pollfd entry{stdout_fd_, POLLIN, 0};
    const int ready = poll(&entry, 1, static_cast<int>(remaining(deadline).count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return systemError(errnoText("poll", errno));
    if (ready == 0) return timeoutError(name_ + " wrote nothing in time");
    char chunk[64 * 1024];
    const ssize_t got = read(stdout_fd_, chunk, sizeof(chunk));
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return systemError(errnoText("reading from " + name_, errno));
    if (got == 0) stdout_eof_ = true;
    buffer_.append(chunk, static_cast<size_t>(got));
    return Status::ok();
  }
}

Result<std::string> ChildProcess::readLine(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (true) {
    const size_t newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      return line;
    }
    if (stdout_eof_) return connectionError(name_ + " closed its output");
    Status read = readSome(deadline);
    if (!read) return read;
  }
}

Result<std::string> ChildProcess::readAll(milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (!stdout_eof_) {
    Status read = readSome(deadline);
    if (!read) return read;
  }
  return std::move(buffer_);
}

std::string ChildProcess::describeExit(int wait_status) {
  if (WIFEXITED(wait_status)) return "exited with code " + std::to_string(WEXITSTATUS(wait_status));
  if (WIFSIGNALED(wait_status)) {
    const int signal_number = WTERMSIG(wait_status);
    return "killed by signal " + std::to_string(signal_number) + " (" + strsignal(signal_number) +
           ")";
  }
  return "ended with wait status " + std::to_string(wait_status);
}

bool ChildProcess::exitedCleanly(int wait_status) {
  return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == 0;
}

}  // namespace eccl::tools
