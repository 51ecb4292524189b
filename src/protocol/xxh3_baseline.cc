// XXH3 for baseline x86-64 (SSE2) and every other architecture.
#include "src/protocol/xxh3_path_impl.h"

namespace eccl::protocol {

const Xxh3Path& xxh3BaselinePath() {
  static constexpr Xxh3Path path = makeXxh3Path("baseline");
  return path;
}

}  // namespace eccl::protocol
