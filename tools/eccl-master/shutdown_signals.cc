#include "tools/eccl-master/shutdown_signals.h"

#include <pthread.h>
#include <signal.h>

#include <cstring>

namespace eccl::tools {
namespace {

sigset_t shutdownSet() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}

}  // namespace

Status blockShutdownSignals() {
  const sigset_t set = shutdownSet();
  if (const int error = pthread_sigmask(SIG_BLOCK, &set, nullptr); error != 0) {
    return systemError(std::string("pthread_sigmask: ") + std::strerror(error));
  }
  return Status::ok();
}

ShutdownSignals::ShutdownSignals(std::function<void(int)> on_signal)
    : thread_([this, on_signal = std::move(on_signal)] {
        const sigset_t set = shutdownSet();
        int signal_number = 0;
        if (sigwait(&set, &signal_number) != 0 || closing_.load()) return;
        received_.store(signal_number);
        on_signal(signal_number);
      }) {}

ShutdownSignals::~ShutdownSignals() {
  closing_.store(true);
  // A signal aimed at this thread alone ends its sigwait(); the process is untouched.
  if (received_.load() == 0) pthread_kill(thread_.native_handle(), SIGTERM);
  thread_.join();
}

}  // namespace eccl::tools
