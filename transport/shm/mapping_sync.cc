#include "transport/shm/mapping_sync.h"

#include <cstddef>
#include <functional>

namespace eccl::transport::shm {

#if defined(ECCL_THREAD_SANITIZER)
namespace {

// Keys are bytes of one array: two rings whose names hash alike share a key,
// which only adds edges (it can hide a race between them, never invent one).
constexpr size_t kKeys = 4096;
char keys[kKeys];

}  // namespace

MappingSync::MappingSync(std::string_view segment_name, int direction) {
  const size_t ring =
      std::hash<std::string_view>{}(segment_name)*2 + static_cast<size_t>(direction);
  key_ = &keys[ring % kKeys];
}
#else
MappingSync::MappingSync(std::string_view, int) {}
#endif

}  // namespace eccl::transport::shm
