#include "transport/token_bucket.h"

#include <algorithm>

namespace eccl::transport {

void TokenBucket::setRate(uint64_t bytes_per_s, Clock::time_point now) {
  if (bytes_per_s != 0 && bytes_per_s_ == 0) {
    tokens_ = 0;
    refilled_ = now;
  }
  bytes_per_s_ = bytes_per_s;
}

uint64_t TokenBucket::allowance(Clock::time_point now) {
  const double rate = static_cast<double>(bytes_per_s_);
  const double burst = std::max(16.0 * 1024, rate / 100);
  tokens_ =
      std::min(burst, tokens_ + rate * std::chrono::duration<double>(now - refilled_).count());
  refilled_ = now;
  return tokens_ >= 1 ? static_cast<uint64_t>(tokens_) : 0;
}

uint64_t TokenBucket::grant(Clock::time_point now, uint64_t wanted) {
  const uint64_t tokens = allowance(now);
  if (tokens < std::min(wanted, kUsefulWrite)) return 0;
  return std::min(tokens, wanted);
}

TokenBucket::Clock::duration TokenBucket::untilUsefulWrite() const {
  const double missing = std::max(1.0, static_cast<double>(kUsefulWrite) - tokens_);
  const auto wait = std::chrono::duration<double>(missing / static_cast<double>(bytes_per_s_));
  return std::max<Clock::duration>(std::chrono::microseconds(100),
                                   std::chrono::duration_cast<Clock::duration>(wait));
}

}  // namespace eccl::transport
