#include "src/protocol/checksum.h"

#include <xxhash.h>

#include <new>

#include "src/protocol/messages.h"

namespace eccl::protocol {

uint64_t payloadChecksum(std::span<const uint8_t> payload) {
  return XXH3_64bits(payload.data(), payload.size());
}

struct StreamingChecksum::State {
  // Through the library's allocator: the state's layout is not part of xxHash's stable ABI.
  XXH3_state_t* xxh = XXH3_createState();
  ~State() { XXH3_freeState(xxh); }
};

StreamingChecksum::StreamingChecksum() : state_(std::make_unique<State>()) {
  if (state_->xxh == nullptr) throw std::bad_alloc();
  reset();
}
StreamingChecksum::~StreamingChecksum() = default;

void StreamingChecksum::reset() {
  XXH3_64bits_reset(state_->xxh);
}

void StreamingChecksum::update(std::span<const uint8_t> bytes) {
  XXH3_64bits_update(state_->xxh, bytes.data(), bytes.size());
}

uint64_t StreamingChecksum::digest() const {
  return XXH3_64bits_digest(state_->xxh);
}

}  // namespace eccl::protocol
