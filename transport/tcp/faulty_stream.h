// Fault injection on the data plane (ECCL_FAULTS, transport/fault_spec.h): a
// ByteStream that passes everything to the real one, except that each chunk
// frame it starts to send may first reset the connection, be held back (delay,
// stall) or go out with one payload bit flipped. Control frames (handshakes,
// credits, pings) are never touched, so a channel still forms and reports.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "transport/byte_stream.h"
#include "transport/fault_spec.h"

namespace eccl::transport::tcp {

// What was injected so far, over every stream of the injector.
struct FaultCounts {
  uint64_t drops = 0, delays = 0, stalls = 0, corruptions = 0;
};

class FaultInjector : public std::enable_shared_from_this<FaultInjector> {
 public:
  explicit FaultInjector(FaultSpec spec) : spec_(spec) {}

  // inner, with the spec's faults; stream n draws from the sequence of (seed, n).
  std::unique_ptr<ByteStream> wrap(std::unique_ptr<ByteStream> inner);
  const FaultSpec& spec() const { return spec_; }
  FaultCounts counts() const;

 private:
  friend class FaultyStream;
  const FaultSpec spec_;
  std::atomic<uint64_t> streams_{0};
  std::atomic<uint64_t> drops_{0}, delays_{0}, stalls_{0}, corruptions_{0};
};

}  // namespace eccl::transport::tcp
