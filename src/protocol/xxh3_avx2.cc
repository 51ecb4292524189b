// XXH3 with AVX2 (this file is compiled with -mavx2; called only where the CPU has it).
#include "src/protocol/xxh3_path_impl.h"

namespace eccl::protocol {

const Xxh3Path& xxh3Avx2Path() {
  static constexpr Xxh3Path path = makeXxh3Path("avx2");
  return path;
}

}  // namespace eccl::protocol
