#include "transport/io_runner.h"

#include <algorithm>

#include "src/common/log.h"

namespace eccl::transport {

IoRunner::IoRunner(int threads) : context_(threads), work_(asio::make_work_guard(context_)) {
  threads_.reserve(static_cast<size_t>(threads));
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this] {
      try {
        context_.run();
      } catch (const std::exception& e) {
        // Handlers do not throw by design; if one does, the process is in an unknown state.
        ECCL_LOG_ERROR("I/O thread stopped by an exception: {}", e.what());
        std::terminate();
      }
    });
  }
}

IoRunner::~IoRunner() {
  stop();
}

bool IoRunner::onIoThread() const {
  const auto self = std::this_thread::get_id();
  return std::any_of(threads_.begin(), threads_.end(),
                     [&](const std::thread& t) { return t.get_id() == self; });
}

void IoRunner::stop() {
  work_.reset();
  context_.stop();
  for (auto& t : threads_) {
    if (!t.joinable()) continue;
    // Stopping from a handler: this thread returns from run() right after.
    if (t.get_id() == std::this_thread::get_id()) {
      t.detach();
    } else {
      t.join();
    }
  }
  threads_.clear();
}

void IoRunner::drain() {
  if (!threads_.empty()) return;  // still running (or stopping from a handler)
  context_.restart();
  while (context_.poll() > 0) {
  }
}

}  // namespace eccl::transport
