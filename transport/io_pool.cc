#include "transport/io_pool.h"

#include <algorithm>
#include <exception>

#include "src/common/log.h"
#include "src/common/thread_name.h"

namespace eccl::transport {

IoPool::IoPool(int threads) {
  const int count = std::max(threads, 1);
  contexts_.reserve(static_cast<size_t>(count));
  work_.reserve(static_cast<size_t>(count));
  threads_.reserve(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    contexts_.push_back(std::make_unique<Context>());
    work_.push_back(asio::make_work_guard(*contexts_.back()));
  }
  for (auto& context : contexts_) {
    threads_.emplace_back([io = context.get()] {
      nameThisThread("eccl-io");
      try {
        io->run();
      } catch (const std::exception& e) {
        // Handlers do not throw by design; if one does, the process is in an unknown state.
        ECCL_LOG_ERROR("I/O thread stopped by an exception: {}", e.what());
        std::terminate();
      }
    });
  }
}

IoPool::~IoPool() {
  stop();
  // Twice: a handler destroyed in a later context's shutdown may have queued
  // work (destroyed, never run) on a context shut down before it.
  for (int pass = 0; pass < 2; ++pass) {
    for (auto& context : contexts_)
      context->shutdown();
  }
}

asio::io_context& IoPool::next() {
  return *contexts_[next_.fetch_add(1, std::memory_order_relaxed) % contexts_.size()];
}

bool IoPool::onIoThread() const {
  const auto self = std::this_thread::get_id();
  return std::any_of(threads_.begin(), threads_.end(),
                     [&](const std::thread& t) { return t.get_id() == self; });
}

void IoPool::stop() {
  for (auto& guard : work_)
    guard.reset();
  for (auto& context : contexts_)
    context->stop();
  for (auto& t : threads_) {
    if (!t.joinable()) continue;
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();
    } else {
      t.join();
    }
  }
  threads_.clear();
}

void IoPool::drain() {
  if (!threads_.empty()) return;  // still running (or stopping from a handler)
  for (auto& context : contexts_) {
    context->restart();
    while (context->poll() > 0) {
    }
  }
}

}  // namespace eccl::transport
