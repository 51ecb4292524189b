#include "tools/eccl-stress/fault_schedule.h"

#include <algorithm>
#include <cmath>
#include <random>

namespace eccl::tools::stress {
namespace {

// A hang lasts between these: shorter than the master's detection (the peer
// resumes in its ring) as well as longer (it finds itself removed).
constexpr int64_t kShortestHoldMs = 150;
constexpr int64_t kLongestHoldMs = 2000;

// std::mt19937_64 is specified exactly; the standard distributions are not,
// so these draw from its raw output themselves: a schedule is the same with
// any standard library.
double uniform01(std::mt19937_64& random) {
  return static_cast<double>(random() >> 11) * 0x1.0p-53;
}

int64_t uniformInt(std::mt19937_64& random, int64_t low, int64_t high) {
  return low + static_cast<int64_t>(random() % static_cast<uint64_t>(high - low + 1));
}

void addArrivals(std::vector<FaultEvent>& events, uint64_t seed, FaultKind kind, double rate,
                 std::chrono::milliseconds duration) {
  if (rate <= 0) return;
  std::mt19937_64 random(seed * 4 + static_cast<uint64_t>(kind));
  double at_s = 0;
  while (true) {
    at_s += -std::log1p(-uniform01(random)) / rate;  // exponential gaps
    const auto at = std::chrono::milliseconds(static_cast<int64_t>(at_s * 1000.0));
    if (at >= duration) return;
    FaultEvent event;
    event.at = at;
    event.kind = kind;
    event.pick = static_cast<uint32_t>(random() >> 32);
    if (kind == FaultKind::kHang) {
      event.hold = std::chrono::milliseconds(uniformInt(random, kShortestHoldMs, kLongestHoldMs));
      event.resume = (random() & 1) != 0;
    }
    events.push_back(event);
  }
}

}  // namespace

const char* faultName(FaultKind kind) {
  switch (kind) {
    case FaultKind::kKill:
      return "kill";
    case FaultKind::kHang:
      return "hang";
    case FaultKind::kJoin:
      return "join";
    case FaultKind::kLeave:
      return "leave";
  }
  return "unknown";
}

std::vector<FaultEvent> makeSchedule(uint64_t seed, const FaultRates& rates,
                                     std::chrono::milliseconds duration) {
  std::vector<FaultEvent> events;
  addArrivals(events, seed, FaultKind::kKill, rates.kill, duration);
  addArrivals(events, seed, FaultKind::kHang, rates.hang, duration);
  addArrivals(events, seed, FaultKind::kJoin, rates.join, duration);
  addArrivals(events, seed, FaultKind::kLeave, rates.leave, duration);
  std::stable_sort(events.begin(), events.end(),
                   [](const FaultEvent& a, const FaultEvent& b) { return a.at < b.at; });
  return events;
}

std::string describeFault(const FaultEvent& event) {
  std::string text = faultName(event.kind);
  if (event.kind == FaultKind::kJoin) return text;
  text += " pick=" + std::to_string(event.pick);
  if (event.kind == FaultKind::kHang) {
    text += " hold=" + std::to_string(event.hold.count()) + "ms then " +
            (event.resume ? "resume" : "kill");
  }
  return text;
}

}  // namespace eccl::tools::stress
