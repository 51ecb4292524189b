// Tells ThreadSanitizer what the two mappings of one segment order.
//
// Tests run both ends of a shared-memory connection in one process, each
// end with its own mapping of the segment. TSan keys its shadow state by
// address, so the ring's release stores and acquire loads (shm_ring.h) look
// like operations on two unrelated words, and the futex wake-up is invisible
// to it too. An in-place ring all-reduce sends a chunk from the caller's
// buffer and later receives the chunk's final value into the same bytes,
// after a trip through the other ends: with no edge in its model, TSan calls
// that a race. The ring therefore announces each index or flag it publishes
// and each it observes under a key that both mappings in this process derive
// from the segment's name and the ring's direction.
//
// Outside TSan builds this is an empty object and its calls compile away.
#pragma once

#include <string_view>

#include "src/common/thread_sanitizer.h"

#if defined(ECCL_THREAD_SANITIZER)
#include <sanitizer/tsan_interface.h>
#endif

namespace eccl::transport::shm {

class MappingSync {
 public:
  MappingSync() = default;  // rings in ordinary memory: TSan sees their atomics itself
  MappingSync(std::string_view segment_name, int direction);

#if defined(ECCL_THREAD_SANITIZER)
  // Before a store the other side will load: what this thread did so far happens before.
  void release() const {
    if (key_ != nullptr) __tsan_release(key_);
  }
  // After a load of what the other side stored: what it did before happens before now.
  void acquire() const {
    if (key_ != nullptr) __tsan_acquire(key_);
  }

 private:
  void* key_ = nullptr;
#else
  void release() const {}
  void acquire() const {}
#endif
};

}  // namespace eccl::transport::shm
