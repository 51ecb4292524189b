// `eccl-bench state-join`: what a joiner's background fetch of the shared
// state (ecclCommConnectWithState) costs the members that keep training.
// N members run rounds of a shared-state sync followed by all-reduce steps;
// a joiner starts later, fetches the whole state paced at --fetch-rate, is
// admitted and catches up. Rank 0 reports its median step time before the
// joiner registered and while the fetch was served, and their ratio.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace eccl::tools::bench {

struct StateJoinOptions {
  uint64_t bytes = 1u << 30;  // shared state
  uint32_t entries = 16;
  int members = 3;
  uint64_t step_bytes = 16u << 20;                // each all-reduce step
  int steps_per_round = 10;                       // all-reduce steps between two syncs
  uint64_t fetch_bytes_per_s = 0;                 // the joiner's pace; 0: unpaced
  std::chrono::milliseconds joiner_delay{6'000};  // baseline rounds before it starts
  int connections = 4;
  std::string netlab;  // "lan:1gbit": member i on host i, the joiner on host N
  bool json = false;
  std::chrono::milliseconds timeout{300'000};
};

int runStateJoin(const StateJoinOptions& options);

// One process of it (hidden subcommand state-join-worker).
struct StateJoinWorkerOptions {
  std::string master_host = "127.0.0.1";
  uint16_t master_port = 0;
  std::string host = "127.0.0.1";
  bool joiner = false;
  int members = 3;
  uint64_t bytes = 0;
  uint32_t entries = 16;
  uint64_t step_bytes = 0;
  int steps_per_round = 10;
  uint64_t fetch_bytes_per_s = 0;
  std::chrono::milliseconds joiner_delay{0};
  int connections = 4;
  std::chrono::milliseconds timeout{300'000};
};

int runStateJoinWorker(const StateJoinWorkerOptions& options);

}  // namespace eccl::tools::bench
