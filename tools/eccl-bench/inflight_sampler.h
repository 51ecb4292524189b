// The bytes this process has in flight on its TCP connections (sent, not yet
// acknowledged: TCP_INFO's unacked segments times the MSS), sampled on a
// thread of its own while the timed ops run. On a long link a ring fills the
// pipe only with a bandwidth-delay product in flight; Gloo's ring, for one,
// keeps about 2 MiB. Linux only; depends on nothing of ECCL, as the
// comparators measure themselves with it too. Its thread's CPU is the
// instrument's, not the measured library's: callers take it out
// (threadCpuSeconds), or a rank with more sockets would look costlier.
#pragma once

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

namespace eccl::tools::bench {

class InflightSampler {
 public:
  explicit InflightSampler(std::chrono::microseconds period = std::chrono::milliseconds(2))
      : period_(period), thread_([this] { run(); }) {}
  ~InflightSampler() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  InflightSampler(const InflightSampler&) = delete;
  InflightSampler& operator=(const InflightSampler&) = delete;

  // Samples from now until end(); the sockets are those open now.
  void begin() {
    std::vector<int> sockets = tcpSockets();
    {
      std::lock_guard lock(mu_);
      sockets_ = std::move(sockets);
      active_ = true;
    }
    cv_.notify_all();
  }
  void end() {
    std::lock_guard lock(mu_);
    active_ = false;
  }

  // CPU seconds the sampling thread has used so far (callable from any thread).
  double threadCpuSeconds() {
    clockid_t clock{};
    timespec used{};
    if (pthread_getcpuclockid(thread_.native_handle(), &clock) != 0) return 0.0;
    if (clock_gettime(clock, &used) != 0) return 0.0;
    return static_cast<double>(used.tv_sec) + static_cast<double>(used.tv_nsec) * 1e-9;
  }

  // Over every sample of every window so far; 0 without samples.
  double meanBytes() const {
    std::lock_guard lock(mu_);
    return samples_ > 0 ? sum_ / static_cast<double>(samples_) : 0.0;
  }
  double maxBytes() const {
    std::lock_guard lock(mu_);
    return max_;
  }

 private:
  void run() {
    std::unique_lock lock(mu_);
    while (!stop_) {
      if (!active_) {
        cv_.wait(lock, [this] { return stop_ || active_; });
        continue;
      }
      const std::vector<int> sockets = sockets_;
      lock.unlock();
      const double bytes = static_cast<double>(unackedBytes(sockets));
      std::this_thread::sleep_for(period_);
      lock.lock();
      if (!active_) continue;  // the window closed while sampling: not part of it
      sum_ += bytes;
      ++samples_;
      max_ = std::max(max_, bytes);
    }
  }

  // This process's TCP sockets (listening ones are left out at sampling).
  static std::vector<int> tcpSockets() {
    std::vector<int> sockets;
    DIR* dir = opendir("/proc/self/fd");
    if (dir == nullptr) return sockets;
    while (const dirent* entry = readdir(dir)) {
      char* end = nullptr;
      const long fd = std::strtol(entry->d_name, &end, 10);
      if (end == entry->d_name || *end != '\0' || fd == dirfd(dir)) continue;
      struct stat st {};
      if (fstat(static_cast<int>(fd), &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
      int protocol = 0;
      socklen_t length = sizeof protocol;
      if (getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_PROTOCOL, &protocol, &length) == 0 &&
          protocol == IPPROTO_TCP) {
        sockets.push_back(static_cast<int>(fd));
      }
    }
    closedir(dir);
    return sockets;
  }

  // A socket closed since (or its number reused) reads as nothing or as another socket's.
  static uint64_t unackedBytes(const std::vector<int>& sockets) {
    uint64_t total = 0;
    for (int fd : sockets) {
      tcp_info info{};
      socklen_t length = sizeof info;
      if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &length) != 0) continue;
      if (info.tcpi_state != 1 /* TCP_ESTABLISHED */) continue;
      total += static_cast<uint64_t>(info.tcpi_unacked) * info.tcpi_snd_mss;
    }
    return total;
  }

  const std::chrono::microseconds period_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool active_ = false;
  bool stop_ = false;
  std::vector<int> sockets_;
  double sum_ = 0;
  uint64_t samples_ = 0;
  double max_ = 0;
  std::thread thread_;  // last: starts once the members above exist
};

}  // namespace eccl::tools::bench
