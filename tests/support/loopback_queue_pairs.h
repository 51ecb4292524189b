// An in-process fabric that keeps the QueuePair contract (queue_pair.h), so
// that the RDMA byte stream's protocol is tested on machines without an RDMA
// device: a write copies into the connected queue pair's ring, an immediate
// becomes an event there, and events wake an eventfd. Queue pairs may live
// on different threads, as two ends of a connection do.
#pragma once

#include <map>
#include <memory>
#include <mutex>

#include "transport/rdma/queue_pair.h"

namespace eccl::test {

class LoopbackQueuePair;

class LoopbackFabric final : public transport::rdma::QueuePairFactory,
                             public std::enable_shared_from_this<LoopbackFabric> {
 public:
  static std::shared_ptr<LoopbackFabric> make();

  Result<std::unique_ptr<transport::rdma::QueuePair>> create(uint64_t ring_bytes) override;
  const transport::rdma::RdmaPort& port() const override { return port_; }
  // Posts made from now on fail, as writes to a peer whose node died do.
  void cut();
  // How many queue pairs exist now.
  size_t live() const;

 private:
  friend class LoopbackQueuePair;
  LoopbackFabric();

  mutable std::mutex mu_;  // guards the map and every copy between rings
  std::map<uint32_t, LoopbackQueuePair*> by_number_;
  uint32_t next_number_ = 1;
  bool cut_ = false;
  transport::rdma::RdmaPort port_;
};

}  // namespace eccl::test
