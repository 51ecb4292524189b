// One process of `eccl-bench state-sync`: joins the ring, then syncs a shared
// state warmup + iters times. Holders move their revision by one per sync;
// the receiver zeroes its copy before each sync (untimed) and syncs
// RECEIVE_ONLY, so each sync moves the whole state to it; it checks the bytes
// and prints one JSON row with every sync's wall time.
#include <sys/prctl.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <nlohmann/json.hpp>

#include "src/comm/communicator.h"
#include "tools/eccl-bench/master_thread.h"
#include "tools/eccl-bench/state_sync.h"
#include "tools/eccl-bench/state_tensors.h"

namespace eccl::tools::bench {
namespace {

Status runSyncs(comm::Communicator& comm, const StateSyncWorkerOptions& options,
                nlohmann::ordered_json& row) {
  BenchState tensors(options.bytes, options.entries, options.receiver, options.sparse);
  std::vector<double> seconds;
  uint64_t received = 0;
  uint64_t wire = 0;
  for (int i = 0; i < options.warmup + options.iters; ++i) {
    if (options.receiver) {
      tensors.zero();
    } else {
      ++tensors.state().revision;
    }
    state::SyncInfo info;
    ECCL_RETURN_IF_ERROR(comm.syncSharedState(
        tensors.state(),
        options.receiver ? state::SyncStrategy::kReceiveOnly : state::SyncStrategy::kEnforcePopular,
        options.timeout, &info));
    if (!options.receiver) continue;
    if (!tensors.holdsHolderBytes())
      return internalError("the receiver's state differs after sync");
    if (i < options.warmup) continue;
    seconds.push_back(std::chrono::duration<double>(info.wall_time).count());
    received = info.bytes_received;
    wire = info.wire_bytes_received;
  }
  if (!options.receiver) return Status::ok();
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  row = {{"bench", "state-sync"},
         {"sources", options.peers - 1},
         {"bytes", options.bytes},
         {"entries", options.entries},
         {"connections", options.connections},
         {"iters", options.iters},
         {"bytes_received", received},
         {"wire_bytes_received", wire},
         {"seconds", median},
         {"seconds_best", seconds.front()},
         {"gbit_s", 8.0 * static_cast<double>(options.bytes) / median / 1e9},
         {"ok", true}};
  return Status::ok();
}

}  // namespace

int runStateSyncWorker(const StateSyncWorkerOptions& options) {
  auto created = makeWorkerComm(options.master_host, options.master_port, options.host,
                                options.connections, options.timeout);
  if (!created) {
    std::fprintf(stderr, "state-sync worker: %s\n", created.status().toString().c_str());
    return 1;
  }
  auto& comm = **created;
  nlohmann::ordered_json row;
  Status status = comm.connect(options.timeout);
  if (status) status = formRing(comm, options.peers, options.timeout);
  if (status) status = runSyncs(comm, options, row);
  if (!status) {
    std::fprintf(stderr, "state-sync worker (rank %d): %s\n", comm.rank(),
                 status.toString().c_str());
    return 1;
  }
  if (options.receiver) std::printf("%s\n", row.dump().c_str());
  return 0;
}

}  // namespace eccl::tools::bench
