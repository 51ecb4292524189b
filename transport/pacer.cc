#include "transport/pacer.h"

namespace eccl::transport {

void Pacer::setRate(uint64_t bytes_per_s) {
  bucket_.setRate(bytes_per_s, TokenBucket::Clock::now());
  timer_.cancel();
}

uint64_t Pacer::grant(uint64_t wanted) {
  if (!capped()) return wanted;
  return bucket_.grant(TokenBucket::Clock::now(), wanted);
}

bool Pacer::usefulWriteAllowed() {
  return !capped() || bucket_.usefulWriteAllowed(TokenBucket::Clock::now());
}

void Pacer::sleep(std::function<void()> woken) {
  timer_.expires_after(bucket_.untilUsefulWrite());
  const auto started = TokenBucket::Clock::now();
  timer_.async_wait([this, alive = std::weak_ptr<int>(alive_), started,
                     woken = std::move(woken)](std::error_code) {
    if (alive.expired()) return;
    slept_ += TokenBucket::Clock::now() - started;
    woken();
  });
}

}  // namespace eccl::transport
