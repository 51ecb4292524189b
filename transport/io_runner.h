// An asio::io_context and the threads that run it.
#pragma once

#include <asio/io_context.hpp>
#include <thread>
#include <vector>

namespace eccl::transport {

class IoRunner {
 public:
  explicit IoRunner(int threads);
  ~IoRunner();  // stops the context and joins the threads
  IoRunner(const IoRunner&) = delete;
  IoRunner& operator=(const IoRunner&) = delete;

  asio::io_context& context() { return context_; }
  // True on one of this runner's threads (a blocking wait there would deadlock).
  bool onIoThread() const;

  void stop();
  // After stop(): runs what is still queued on the calling thread, so that
  // handlers release what they captured before the owner is destroyed.
  void drain();

 private:
  asio::io_context context_;
  asio::executor_work_guard<asio::io_context::executor_type> work_;
  std::vector<std::thread> threads_;
};

}  // namespace eccl::transport
