// Which ISA path to use: CPU detection and the ECCL_ISA override, kept apart
// from the dispatch so that tests can feed any environment value and CPU.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "src/reduce/reduce.h"

namespace eccl::reduce {

// "scalar", "avx2" or "avx512", any letter case; nullopt for anything else.
std::optional<Isa> parseIsa(std::string_view text);

struct IsaChoice {
  Isa isa;
  std::string warning;  // empty unless the request could not be honoured
};

// env is ECCL_ISA's value (null or empty when unset); best is what the CPU has.
// A request above best, or one that does not parse, gives best and a warning.
IsaChoice chooseIsa(const char* env, Isa best);

// The best path this CPU and this build support (CPUID, once).
Isa detectBestIsa();

}  // namespace eccl::reduce
