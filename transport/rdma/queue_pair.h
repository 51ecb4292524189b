// One reliable-connected queue pair and the memory its RDMA writes use: the
// seam between the RDMA byte stream and libibverbs (verbs_queue_pair.h), so
// that the stream's ring protocol also runs, in tests, over an in-process
// fabric that behaves alike (tests/support/loopback_queue_pairs.h).
//
// Each end registers a receive ring and a credit word for the other end to
// write. A write copies bytes into this end's send staging buffer, which
// mirrors the other end's ring offset for offset, then posts them there; an
// immediate value posted with it raises an event at the other end once the
// bytes are in place (reliable connection: in order, after every earlier write).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "src/common/status.h"
#include "transport/rdma/rdma_offer.h"

namespace eccl::transport::rdma {

struct QueuePairEvent {
  enum class Kind : uint8_t {
    kSent,       // one posted write completed (its send slot is free again)
    kImmediate,  // the other end's write with an immediate value has landed
  };
  Kind kind = Kind::kSent;
  uint32_t immediate = 0;  // kImmediate
};

class QueuePair {
 public:
  virtual ~QueuePair() = default;

  // What the other end needs to connect and write here (rdma_offer.h).
  virtual const QueuePairAddress& address() const = 0;
  // Connects to the queue pair `remote` names; its ring is where this end writes.
  virtual Status connect(const QueuePairAddress& remote) = 0;

  // Where the other end's writes land.
  virtual std::span<uint8_t> receiveRing() = 0;
  // After connect: as large as the other end's ring.
  virtual std::span<uint8_t> sendStaging() = 0;
  // The last value the other end wrote into this end's credit word.
  virtual uint64_t creditWord() const = 0;

  // Writes staging[offset, offset + bytes) to the same offset of the other
  // end's ring, raising `immediate` there if given. bytes may be 0 with an immediate.
  virtual Status postWrite(uint64_t offset, uint64_t bytes, std::optional<uint32_t> immediate) = 0;
  // Writes `value` into the other end's credit word, then raises `immediate` there.
  virtual Status postCredit(uint64_t value, uint32_t immediate) = 0;
  // How many posts may be outstanding (posted, their kSent not yet polled).
  virtual uint32_t sendSlots() const = 0;

  // Readable when events may be waiting. Level-triggered until poll().
  virtual int eventFd() const = 0;
  // Appends the events since the last call. An error once the queue pair
  // failed (the other end gone, a write refused); it stays failed.
  virtual Status poll(std::vector<QueuePairEvent>& out) = 0;
};

class QueuePairFactory {
 public:
  virtual ~QueuePairFactory() = default;
  // A queue pair with a receive ring of `ring_bytes` (a power of two), not connected yet.
  virtual Result<std::unique_ptr<QueuePair>> create(uint64_t ring_bytes) = 0;
  // The port its queue pairs use: what a peer's address is checked against.
  virtual const RdmaPort& port() const = 0;
};

}  // namespace eccl::transport::rdma
