// I/O threads, each running its own asio::io_context: a TCP endpoint's
// data plane, or the control client's single loop.
//
// One io_context run by several threads hands a completion from the thread
// that polled epoll to another one (a futex wake and a context switch per
// handler); on a 1 Gbit/s link that was a fifth of ECCL's CPU per GB. Here
// the thread that polls a socket runs its handlers. New connections are
// spread over the threads round-robin, so the connections of one channel
// still overlap their kernel copies (loopback needs that).
#pragma once

#include <asio/executor_work_guard.hpp>
#include <asio/io_context.hpp>
#include <atomic>
#include <memory>
#include <thread>
#include <vector>

namespace eccl::transport {

class IoPool {
 public:
  explicit IoPool(int threads);
  // Stops the threads, then shuts every context down before destroying any:
  // handlers destroyed by one context's shutdown may own sockets of another.
  ~IoPool();
  IoPool(const IoPool&) = delete;
  IoPool& operator=(const IoPool&) = delete;

  // For listeners, handshakes and timers: things that wait more than they work.
  asio::io_context& primary() { return *contexts_.front(); }
  // For a new connection's socket: the next context, round-robin.
  asio::io_context& next();
  // True on one of the pool's threads (a blocking wait there would deadlock).
  bool onIoThread() const;
  // Stops every context and joins the threads. From a handler, that thread
  // is detached instead and returns from run() right after.
  void stop();
  // After stop(): runs what is still queued on the calling thread, so that
  // handlers release what they captured before the owner is destroyed.
  void drain();

 private:
  // An io_context whose services can be shut down before it is destroyed.
  class Context : public asio::io_context {
   public:
    Context() : asio::io_context(1) {}
    using asio::execution_context::shutdown;
  };
  using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;

  std::vector<std::unique_ptr<Context>> contexts_;
  std::vector<WorkGuard> work_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> next_{0};
};

}  // namespace eccl::transport
