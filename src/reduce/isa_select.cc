#include "src/reduce/isa_select.h"

#include <cctype>

#if defined(ECCL_REDUCE_X86_SIMD)
#include <cpuid.h>
#endif
#include <string>

namespace eccl::reduce {

std::optional<Isa> parseIsa(std::string_view text) {
  std::string lower(text);
  for (char& c : lower)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (lower == isaName(isa)) return isa;
  }
  return std::nullopt;
}

IsaChoice chooseIsa(const char* env, Isa best) {
  if (env == nullptr || *env == '\0') return {best, {}};
  const std::optional<Isa> requested = parseIsa(env);
  if (!requested) {
    return {best, std::string("ECCL_ISA='") + env + "' is not one of scalar|avx2|avx512; using " +
                      isaName(best)};
  }
  if (*requested > best) {
    return {best, std::string("ECCL_ISA=") + isaName(*requested) +
                      " is not supported by this CPU; using " + isaName(best)};
  }
  return {*requested, {}};
}

Isa detectBestIsa() {
#if defined(ECCL_REDUCE_X86_SIMD)
  __builtin_cpu_init();
  // __builtin_cpu_supports also checks that the OS saves the YMM/ZMM state.
  // Clang's __builtin_cpu_supports does not know "f16c": ask CPUID leaf 1.
  // Its OS-state check is covered by the avx2/avx512 checks, which need it too.
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) != 0 && (ecx & bit_F16C) != 0;
  if (f16c && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl")) {
    return Isa::kAvx512;
  }
  if (f16c && __builtin_cpu_supports("avx2")) return Isa::kAvx2;
#endif
  return Isa::kScalar;
}

}  // namespace eccl::reduce
