#include "transport/tcp/faulty_stream.h"

#include <asio/error.hpp>
#include <asio/steady_timer.hpp>
#include <chrono>
#include <random>
#include <utility>
#include <vector>

namespace eccl::transport::tcp {

class FaultyStream final : public ByteStream {
 public:
  FaultyStream(std::unique_ptr<ByteStream> inner, std::shared_ptr<FaultInjector> injector,
               uint64_t seed)
      : inner_(std::move(inner)),
        injector_(std::move(injector)),
        random_(seed),
        timer_(inner_->executor()) {}

  size_t readSome(std::span<uint8_t> into, std::error_code& ec) override {
    return inner_->readSome(into, ec);
  }

  size_t writeSome(std::span<const uint8_t> first, std::span<const uint8_t> second,
                   std::error_code& ec) override {
    if (Clock::now() < held_until_) {
      ec = asio::error::would_block;
      return 0;
    }
    // Only the first write of a chunk frame (its head and payload) is a fault's
    // chance; a frame that was held back goes out when it is retried.
    if (second.empty() || std::exchange(released_, false)) {
      return inner_->writeSome(first, second, ec);
    }
    const FaultSpec& spec = injector_->spec();
    if (chance(spec.drop_p)) {
      ++injector_->drops_;
      inner_->abort();
      ec = asio::error::connection_reset;
      return 0;
    }
    if (chance(spec.stall_p)) return hold(spec.stall, injector_->stalls_, ec);
    if (chance(spec.delay_p)) return hold(spec.delay, injector_->delays_, ec);
    if (chance(spec.corrupt_p)) {
      corrupted_.assign(second.begin(), second.end());
      const uint64_t bit = random_() % (corrupted_.size() * 8);
      corrupted_[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
      const size_t n = inner_->writeSome(first, corrupted_, ec);
      // Counted only if the flipped byte left; otherwise the rest goes out intact.
      if (n > first.size() + bit / 8) ++injector_->corruptions_;
      return n;
    }
    return inner_->writeSome(first, second, ec);
  }

  void waitReadable(WaitHandler ready) override { inner_->waitReadable(std::move(ready)); }

  void waitWritable(WaitHandler ready) override {
    if (Clock::now() >= held_until_) {
      inner_->waitWritable(std::move(ready));
      return;
    }
    timer_.expires_at(held_until_);
    // The timer is cancelled by close() and dies with this stream, which the
    // connection keeps until its waits have completed.
    timer_.async_wait([this, ready = std::move(ready)](std::error_code ec) mutable {
      if (ec) {
        ready(ec);
        return;
      }
      inner_->waitWritable(std::move(ready));
    });
  }

  void close() override {
    timer_.cancel();
    inner_->close();
  }
  void shutdownSend() override {
    timer_.cancel();
    inner_->shutdownSend();
  }
  void abort() override {
    timer_.cancel();
    inner_->abort();
  }
  void setPacingRate(uint64_t bytes_per_s) override { inner_->setPacingRate(bytes_per_s); }
  void setReadLowWater(size_t bytes) override { inner_->setReadLowWater(bytes); }
  // A held write stands for a slow link: its hold counts as busy.
  std::chrono::nanoseconds sendBusyTime() override { return inner_->sendBusyTime() + held_; }
  asio::any_io_executor executor() override { return inner_->executor(); }
  const std::string& remoteAddress() const override { return inner_->remoteAddress(); }
  std::optional<tls::CertFingerprint> peerCertificate() const override {
    return inner_->peerCertificate();
  }
  bool sharedMemory() const override { return inner_->sharedMemory(); }
  bool rdma() const override { return inner_->rdma(); }

 private:
  using Clock = std::chrono::steady_clock;

  bool chance(double p) {
    return p > 0 && std::uniform_real_distribution<double>(0.0, 1.0)(random_) < p;
  }

  size_t hold(std::chrono::milliseconds how_long, std::atomic<uint64_t>& count,
              std::error_code& ec) {
    ++count;
    held_until_ = Clock::now() + how_long;
    held_ += how_long;
    released_ = true;
    ec = asio::error::would_block;
    return 0;
  }

  std::unique_ptr<ByteStream> inner_;
  std::shared_ptr<FaultInjector> injector_;
  std::mt19937_64 random_;
  asio::steady_timer timer_;
  Clock::time_point held_until_{};
  std::chrono::nanoseconds held_{0};  // every hold so far, in full
  bool released_ = false;             // the next write is the held frame's: no new fault
  std::vector<uint8_t> corrupted_;
};

std::unique_ptr<ByteStream> FaultInjector::wrap(std::unique_ptr<ByteStream> inner) {
  // splitmix64 of (seed, n): neighbouring streams get unrelated sequences.
  uint64_t z = spec_.seed + 0x9E3779B97F4A7C15ull * (streams_.fetch_add(1) + 1);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return std::make_unique<FaultyStream>(std::move(inner), shared_from_this(), z ^ (z >> 31));
}

FaultCounts FaultInjector::counts() const {
  return FaultCounts{drops_.load(), delays_.load(), stalls_.load(), corruptions_.load()};
}

}  // namespace eccl::transport::tcp
