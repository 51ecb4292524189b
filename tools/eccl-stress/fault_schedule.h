// The soak's faults, drawn up front from the seed: each kind arrives as a
// Poisson process at its rate, from a random stream of its own (changing one
// rate leaves the others' times alone). Which peer a fault hits is drawn too,
// as a number that picks among the peers eligible at that moment, so that the
// same seed replays the same run of faults whenever the fleet evolves alike.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace eccl::tools::stress {

enum class FaultKind { kKill, kHang, kJoin, kLeave };

const char* faultName(FaultKind kind);

struct FaultEvent {
  std::chrono::milliseconds at{0};  // since the fleet started training
  FaultKind kind = FaultKind::kKill;
  uint32_t pick = 0;  // the victim: eligible[pick % eligible.size()], in spawn order
  // A hang only: how long the peer stays stopped, and what ends it.
  std::chrono::milliseconds hold{0};
  bool resume = false;  // SIGCONT (else SIGKILL)
};

// Events per second of each kind.
struct FaultRates {
  double kill = 0;
  double hang = 0;
  double join = 0;
  double leave = 0;
};

// Every fault due before `duration`, in time order.
std::vector<FaultEvent> makeSchedule(uint64_t seed, const FaultRates& rates,
                                     std::chrono::milliseconds duration);

// "kill pick=123", "hang pick=7 hold=800ms then resume".
std::string describeFault(const FaultEvent& event);

}  // namespace eccl::tools::stress
