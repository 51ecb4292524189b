// Faults injected into the data plane's byte streams, for soaks and tests
// (ECCL_FAULTS). Off unless asked for. The text is rules separated by ';',
// each a kind and its parameters:
//   drop_conn:p=0.001         reset the connection
//   delay:ms=200,p=0.01       hold the write for ms
//   stall:ms=3000,p=0.001     the same, meant long (a frozen link)
//   corrupt:p=1e-5            flip one bit of what is written
//   seed=42                   the random sequence (default 1)
// p is per write attempt (each time a connection tries to send), so the
// schedule is deterministic for a given seed and sequence of writes.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/common/status.h"

namespace eccl::transport {

struct FaultSpec {
  double drop_p = 0;
  double delay_p = 0;
  std::chrono::milliseconds delay{0};
  double stall_p = 0;
  std::chrono::milliseconds stall{0};
  double corrupt_p = 0;
  uint64_t seed = 1;

  bool any() const { return drop_p > 0 || delay_p > 0 || stall_p > 0 || corrupt_p > 0; }
  // The rules back as text (what a log line shows).
  std::string toString() const;
};

// kInvalidArgument naming the rule and what is wrong with it.
Result<FaultSpec> parseFaultSpec(std::string_view text);

}  // namespace eccl::transport
