#include "tests/support/loopback_queue_pairs.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <deque>
#include <vector>

namespace eccl::test {

using transport::rdma::QueuePair;
using transport::rdma::QueuePairAddress;
using transport::rdma::QueuePairEvent;

class LoopbackQueuePair final : public QueuePair {
 public:
  LoopbackQueuePair(std::shared_ptr<LoopbackFabric> fabric, uint32_t number, uint64_t ring_bytes)
      : fabric_(std::move(fabric)),
        ring_(ring_bytes),
        event_fd_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    const auto& port = fabric_->port();
    address_.link_layer = port.link_layer;
    address_.mtu = port.active_mtu;
    address_.gid = port.gid;
    address_.qp_number = number;
    address_.first_psn = number * 7 % 0xFFFFFF;
    address_.ring = {reinterpret_cast<uintptr_t>(ring_.data()), number, ring_bytes};
    address_.credit = {reinterpret_cast<uintptr_t>(&credit_), number, sizeof(uint64_t)};
  }

  ~LoopbackQueuePair() override {
    {
      std::lock_guard lock(fabric_->mu_);
      fabric_->by_number_.erase(address_.qp_number);
    }
    if (event_fd_ >= 0) ::close(event_fd_);
  }

  const QueuePairAddress& address() const override { return address_; }

  Status connect(const QueuePairAddress& remote) override {
    ECCL_RETURN_IF_ERROR(transport::rdma::checkReachable(fabric_->port(), remote));
    std::lock_guard lock(fabric_->mu_);
    auto it = fabric_->by_number_.find(remote.qp_number);
    if (it == fabric_->by_number_.end()) {
      return connectionError("no queue pair " + std::to_string(remote.qp_number) +
                             " to connect to");
    }
    const QueuePairAddress& real = it->second->address_;
    if (real.ring.address != remote.ring.address || real.ring.bytes != remote.ring.bytes ||
        real.ring.rkey != remote.ring.rkey || real.credit.address != remote.credit.address) {
      return invalidArgument("the address names another queue pair's memory");
    }
    remote_ = remote;
    staging_.assign(remote.ring.bytes, 0);
    return Status::ok();
  }

  std::span<uint8_t> receiveRing() override { return ring_; }
  std::span<uint8_t> sendStaging() override { return staging_; }
  uint64_t creditWord() const override { return credit_.load(std::memory_order_acquire); }

  Status postWrite(uint64_t offset, uint64_t bytes, std::optional<uint32_t> immediate) override {
    if (offset + bytes > staging_.size()) {
      return invalidArgument("an RDMA write outside the other end's ring");
    }
    return post([&](LoopbackQueuePair& peer) {
      std::memcpy(peer.ring_.data() + offset, staging_.data() + offset, bytes);
      if (immediate) peer.push({QueuePairEvent::Kind::kImmediate, *immediate});
    });
  }

  Status postCredit(uint64_t value, uint32_t immediate) override {
    return post([&](LoopbackQueuePair& peer) {
      peer.credit_.store(value, std::memory_order_release);
      peer.push({QueuePairEvent::Kind::kImmediate, immediate});
    });
  }

  uint32_t sendSlots() const override { return kSlots; }
  int eventFd() const override { return event_fd_; }

  Status poll(std::vector<QueuePairEvent>& out) override {
    uint64_t count = 0;
    [[maybe_unused]] ssize_t r = ::read(event_fd_, &count, sizeof(count));  // resets the level
    std::lock_guard lock(events_mu_);
    out.insert(out.end(), events_.begin(), events_.end());
    outstanding_ -= sent_pending_;
    sent_pending_ = 0;
    events_.clear();
    return failure_;
  }

 private:
  static constexpr uint32_t kSlots = 64;

  template <typename Deliver>
  Status post(Deliver&& deliver) {
    {
      std::lock_guard lock(events_mu_);
      if (!failure_.isOk()) return failure_;
      if (outstanding_ >= kSlots) return invalidUsage("more posts outstanding than send slots");
      ++outstanding_;
    }
    bool delivered = false;
    {
      std::lock_guard lock(fabric_->mu_);
      auto it = fabric_->by_number_.find(remote_.qp_number);
      if (!fabric_->cut_ && it != fabric_->by_number_.end()) {
        deliver(*it->second);
        delivered = true;
      }
    }
    std::lock_guard lock(events_mu_);
    if (delivered) {
      events_.push_back({QueuePairEvent::Kind::kSent, 0});
      ++sent_pending_;
    } else if (failure_.isOk()) {
      // As verbs does: the post is accepted, its completion reports the failure.
      failure_ = connectionError("an RDMA write failed: the other end is gone");
    }
    signal();
    return Status::ok();
  }

  void push(QueuePairEvent event) {  // from the peer's post, under the fabric's lock
    std::lock_guard lock(events_mu_);
    events_.push_back(event);
    signal();
  }

  void signal() {
    const uint64_t one = 1;
    [[maybe_unused]] ssize_t r = ::write(event_fd_, &one, sizeof(one));
  }

  std::shared_ptr<LoopbackFabric> fabric_;
  QueuePairAddress address_;
  QueuePairAddress remote_;
  std::vector<uint8_t> ring_;
  std::vector<uint8_t> staging_;
  std::atomic<uint64_t> credit_{0};
  int event_fd_;
  std::mutex events_mu_;
  std::deque<QueuePairEvent> events_;
  uint32_t outstanding_ = 0;
  uint32_t sent_pending_ = 0;
  Status failure_;
};

std::shared_ptr<LoopbackFabric> LoopbackFabric::make() {
  return std::shared_ptr<LoopbackFabric>(new LoopbackFabric());
}

LoopbackFabric::LoopbackFabric() {
  port_.device = "loopback";
  port_.port = 1;
  port_.link_layer = transport::rdma::LinkLayer::kEthernet;
  port_.active_mtu = 5;
  port_.gid = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 1};
}

Result<std::unique_ptr<QueuePair>> LoopbackFabric::create(uint64_t ring_bytes) {
  std::lock_guard lock(mu_);
  const uint32_t number = next_number_++;
  auto qp = std::make_unique<LoopbackQueuePair>(shared_from_this(), number, ring_bytes);
  by_number_[number] = qp.get();
  return std::unique_ptr<QueuePair>(std::move(qp));
}

void LoopbackFabric::cut() {
  std::lock_guard lock(mu_);
  cut_ = true;
}

size_t LoopbackFabric::live() const {
  std::lock_guard lock(mu_);
  return by_number_.size();
}

}  // namespace eccl::test
