// `eccl-bench diloco`: the per-round time of DiLoCo's synchronous and
// one-step-delayed (asynchronous) outer loops on the same ring in one run.
// Each member's round is a fixed inner compute followed by the boundary
// (diloco::OuterLoop::step); the pseudo-gradient all-reduce is also timed
// alone. Synchronous rounds should take compute + all-reduce, delayed ones
// max(compute, all-reduce) when the link is fast enough.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace eccl::tools::bench {

enum class ComputeKind { kSpin, kSleep };

struct DilocoOptions {
  uint64_t bytes = 64u << 20;  // f32 parameters
  int members = 3;
  int rounds = 8;                           // per mode
  std::chrono::milliseconds compute{1000};  // inner steps per round
  // kSpin: one thread busy for that long (a CPU trainer); kSleep: the CPU is
  // idle meanwhile (a GPU computes), so the lab's two cores carry only the network.
  ComputeKind compute_kind = ComputeKind::kSpin;
  int connections = 4;
  std::string netlab;  // "wan:1gbit:50ms": member i on host i
  bool json = false;
  std::chrono::milliseconds timeout{300'000};
};

int runDiloco(const DilocoOptions& options);

// One process of it (hidden subcommand diloco-worker).
struct DilocoWorkerOptions {
  std::string master_host = "127.0.0.1";
  uint16_t master_port = 0;
  std::string host = "127.0.0.1";
  int members = 3;
  uint64_t bytes = 0;
  int rounds = 8;
  std::chrono::milliseconds compute{1000};
  ComputeKind compute_kind = ComputeKind::kSpin;
  int connections = 4;
  std::chrono::milliseconds timeout{300'000};
};

int runDilocoWorker(const DilocoWorkerOptions& options);

}  // namespace eccl::tools::bench
