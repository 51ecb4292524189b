// `eccl-bench state-sync`: how fast a peer whose shared state differs gets
// the group's copy (ecclSyncSharedState), from 1, 2, 3... holders at once,
// against one ECCL point-to-point channel (`eccl-bench p2p`) measured in the
// same run. Every process runs on 127.0.0.1 with an in-process master.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace eccl::tools::bench {

struct StateSyncOptions {
  uint64_t bytes = 256u << 20;
  uint32_t entries = 4;
  std::vector<int> sources = {1, 2, 3};
  int connections = 4;  // per channel, as p2p's default
  int iters = 3;
  int warmup = 1;
  bool compare_p2p = false;
  // "lan:1gbit" or "wan:1gbit:50ms": the receiver on lab host 0 (with the
  // master), holder i on host i (netlab_session.h); empty: all on 127.0.0.1.
  std::string netlab;
  bool sparse = false;  // mostly zeros: zstd's case (else incompressible)
  bool json = false;
  std::chrono::milliseconds timeout{120'000};
};

int runStateSync(const StateSyncOptions& options);

// One peer process (hidden subcommand state-sync-worker): a holder, or with
// receiver the peer that starts every sync from zeros (RECEIVE_ONLY) and
// prints the row.
struct StateSyncWorkerOptions {
  std::string master_host = "127.0.0.1";
  uint16_t master_port = 0;
  std::string host = "127.0.0.1";  // this peer's data listener
  int peers = 2;
  uint64_t bytes = 0;
  uint32_t entries = 4;
  int connections = 4;
  int iters = 3;
  int warmup = 1;
  bool receiver = false;
  bool sparse = false;
  std::chrono::milliseconds timeout{120'000};
};

int runStateSyncWorker(const StateSyncWorkerOptions& options);

}  // namespace eccl::tools::bench
