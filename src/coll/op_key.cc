#include "src/coll/op_key.h"

#include <string>

namespace eccl::coll {

Status checkOpKey(const OpKey& key) {
  if (key.tag > kMaxTag) {
    return invalidArgument("collective tag " + std::to_string(key.tag) +
                           " does not fit in 32 bits (tags must be < 2^32)");
  }
  return Status::ok();
}

uint64_t streamId(const OpKey& key, uint32_t index) {
  return (kCollectiveNamespace << 60) | ((key.revision & 0xFF) << 52) |
         (uint64_t{key.attempt & 0xF} << 48) | ((key.tag & kMaxTag) << 16) |
         (index & (kMaxMessagesPerOp - 1));
}

uint64_t lapStreamId(const OpKey& key, uint32_t hop, bool backward) {
  constexpr uint64_t kNamespaceBits = uint64_t{0xF} << 60;
  const uint32_t index = backward ? kMaxMessagesPerOp / 2 + hop : hop;
  return (streamId(key, index) & ~kNamespaceBits) | (kCompletionLapNamespace << 60);
}

uint64_t headerStreamId(uint32_t index) {
  return (kCollectiveNamespace << 60) | (index & (kMaxMessagesPerOp - 1));
}

}  // namespace eccl::coll
