#include "src/anomaly/dump_signal.h"

#include <asio/io_context.hpp>
#include <asio/post.hpp>
#include <asio/signal_set.hpp>
#include <csignal>
#include <map>
#include <mutex>
#include <string>
#include <system_error>
#include <thread>

#include "src/common/log.h"
#include "src/common/thread_name.h"

namespace eccl::anomaly {

namespace {

// The watcher of one signal: an io_context of its own, so that no
// communicator's threads are needed to answer it.
struct Watcher {
  asio::io_context io;
  asio::signal_set signals{io};
  std::thread thread;
  std::map<uint64_t, std::function<void()>> dumps;
};

std::mutex registry_mu;  // guards everything below; held while the dumps run
std::map<int, std::unique_ptr<Watcher>> watchers;
uint64_t next_registration = 0;

void arm(Watcher& watcher) {
  watcher.signals.async_wait([&watcher](const std::error_code& error, int) {
    if (error) return;  // cancelled: the watcher is stopping
    {
      std::lock_guard lock(registry_mu);
      for (auto& [id, dump] : watcher.dumps)
        dump();
    }
    arm(watcher);
  });
}

class Registration : public DumpRegistration {
 public:
  Registration(int signal, uint64_t id) : signal_(signal), id_(id) {}
  ~Registration() override {
    std::unique_ptr<Watcher> stopping;
    {
      std::lock_guard lock(registry_mu);
      auto it = watchers.find(signal_);
      it->second->dumps.erase(id_);
      if (it->second->dumps.empty()) {
        stopping = std::move(it->second);
        watchers.erase(it);
      }
    }
    if (stopping) {
      // Back to the default action once nobody dumps on it.
      asio::post(stopping->io, [w = stopping.get()] {
        std::error_code ignored;
        w->signals.cancel(ignored);
        w->signals.clear(ignored);
      });
      stopping->thread.join();
    }
  }

 private:
  const int signal_;
  const uint64_t id_;
};

}  // namespace

Result<std::unique_ptr<DumpRegistration>> dumpOnSignal(int signal, std::function<void()> dump) {
  if (signal <= 0 || signal >= NSIG || signal == SIGKILL || signal == SIGSTOP) {
    return invalidArgument("cannot dump on signal " + std::to_string(signal));
  }
  std::lock_guard lock(registry_mu);
  auto& watcher = watchers[signal];
  if (!watcher) {
    auto fresh = std::make_unique<Watcher>();
    std::error_code error;
    fresh->signals.add(signal, error);
    if (error) {
      watchers.erase(signal);
      return invalidArgument("cannot dump on signal " + std::to_string(signal) + ": " +
                             error.message());
    }
    arm(*fresh);
    Watcher* w = fresh.get();
    // The io_context's run ends when the wait is cancelled (nothing else is queued).
    fresh->thread = std::thread([w] {
      nameThisThread("eccl-dump");
      w->io.run();
    });
    watcher = std::move(fresh);
  }
  const uint64_t id = next_registration++;
  watcher->dumps.emplace(id, std::move(dump));
  return std::unique_ptr<DumpRegistration>(new Registration(signal, id));
}

}  // namespace eccl::anomaly
