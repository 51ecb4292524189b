#include "tests/support/test_env.h"

#include <cstring>
#include <functional>

namespace eccl::test {

std::vector<uint8_t> pattern(size_t size, uint64_t seed) {
  std::vector<uint8_t> out(size);
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x632BE59BD9B4E019ull;
  size_t i = 0;
  // xorshift64, eight bytes per step: cheap enough for 1 GiB under sanitizers.
  for (; i + 8 <= size; i += 8) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(out.data() + i, &x, 8);
  }
  for (; i < size; ++i)
    out[i] = static_cast<uint8_t>(x >> (8 * (i % 8)));
  return out;
}

std::optional<size_t> firstDifference(const std::vector<uint8_t>& a,
                                      const std::vector<uint8_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  if (n > 0 && std::memcmp(a.data(), b.data(), n) != 0) {
    for (size_t i = 0; i < n; ++i) {
      if (a[i] != b[i]) return i;
    }
  }
  if (a.size() != b.size()) return n;
  return std::nullopt;
}

Completion::Completion() : state_(std::make_shared<State>()) {}

std::function<void(Status)> Completion::callback() {
  return [state = state_](Status status) {
    std::lock_guard lock(state->mu);
    state->status = std::move(status);
    state->cv.notify_all();
  };
}

std::optional<Status> Completion::wait(std::chrono::milliseconds timeout) {
  std::unique_lock lock(state_->mu);
  state_->cv.wait_for(lock, timeout, [&] { return state_->status.has_value(); });
  return state_->status;
}

bool Completion::done() const {
  std::lock_guard lock(state_->mu);
  return state_->status.has_value();
}

}  // namespace eccl::test
