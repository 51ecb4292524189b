#include "src/protocol/checksum.h"

#include <new>

#include "src/protocol/messages.h"
#include "src/protocol/xxh3_path.h"
#include "src/reduce/reduce.h"

namespace eccl::protocol {

const Xxh3Path& activeXxh3Path() {
#if defined(ECCL_XXH3_AVX2)
  if (reduce::activeIsa() != reduce::Isa::kScalar) return xxh3Avx2Path();
#endif
  return xxh3BaselinePath();
}

uint64_t payloadChecksum(std::span<const uint8_t> payload) {
  return activeXxh3Path().hash(payload.data(), payload.size());
}

const char* checksumPathName() {
  return activeXxh3Path().name;
}

struct StreamingChecksum::State {
  // Every path shares the state's layout (xxhash.h's struct); allocated aligned by it.
  void* xxh = xxh3BaselinePath().newState();
  const Xxh3Path* path = &xxh3BaselinePath();
  ~State() { xxh3BaselinePath().freeState(xxh); }
};

StreamingChecksum::StreamingChecksum() : state_(std::make_unique<State>()) {
  if (state_->xxh == nullptr) throw std::bad_alloc();
  reset();
}
StreamingChecksum::~StreamingChecksum() = default;

void StreamingChecksum::reset() {
  // A payload is hashed by one path from start to end; a switch takes effect here.
  state_->path = &activeXxh3Path();
  state_->path->reset(state_->xxh);
}

void StreamingChecksum::update(std::span<const uint8_t> bytes) {
  state_->path->update(state_->xxh, bytes.data(), bytes.size());
}

uint64_t StreamingChecksum::digest() const {
  return state_->path->digest(state_->xxh);
}

}  // namespace eccl::protocol
