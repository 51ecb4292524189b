// The loop behind eccl-peer: a communicator that joins its group, settles
// every membership change with a topology update, and reports what happens.
//
// Two threads: the caller's runs connect() and the updates (they block), a
// second one polls events every few milliseconds so that their lines carry
// timestamps close to their arrival even while an update is in progress.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "src/comm/communicator.h"
#include "src/quant/quant.h"
#include "tools/eccl-peer/event_line.h"
#include "tools/eccl-peer/shared_tensors.h"

namespace eccl::tools::peer {

struct PeerDaemonOptions {
  comm::CommOptions comm;
  bool json = false;
  uint64_t steps = 0;  // 0: until stopped
  std::chrono::milliseconds step{100};
  // Workload: every step all-reduces this many bytes of f32 (0: membership only).
  uint64_t allreduce_bytes = 0;
  // Quantized on the wire: each element is checked against the ring's error
  // bound (quant::ringErrorBound) instead of exactly; the hash still must be
  // equal on every peer.
  std::optional<quant::QuantConfig> quant;
  // The workload's inputs (see InputPattern): 0 is every rank's rank + 1.
  uint64_t input_seed = 0;
  // Testing the checkers downstream: at this step (0: never), the result is
  // changed after its check, so the line says ok with a hash no other peer has.
  uint64_t corrupt_step = 0;
  // Testing the anomaly detectors: at this step (0: never), after the update,
  // the peer stops calling collectives until it is stopped or removed, while
  // its heartbeats go on: a hung peer, its ring blocked on its op header.
  uint64_t hang_step = 0;
  // State workload: every step syncs this many bytes of shared state (f32, in
  // state_entries entries) before the all-reduce (0: none). An original peer
  // fills it from state_seed and moves its revision by one per step; with
  // state_receive the peer starts from zeros and syncs RECEIVE_ONLY until its
  // first sync succeeds.
  uint64_t state_bytes = 0;
  uint32_t state_entries = 4;
  uint64_t state_seed = 1;
  bool state_receive = false;
  // A sync at the steps whose ring revision is a multiple of this (every
  // member of the ring agrees which: the revision moves once per step).
  uint32_t state_every = 1;
  // With state_receive: fetch the group's state while pending, at this many
  // bytes/s (0: unpaced), with ecclCommConnectWithState; the first sync after
  // admission then brings only what changed since.
  std::optional<uint64_t> state_fetch_bytes_per_s;
};

// Process exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitRemoved = 3;  // the master removed this peer from its group

class PeerDaemon {
 public:
  explicit PeerDaemon(PeerDaemonOptions options) : options_(std::move(options)) {}

  // Runs until stopped, removed, failed, or --steps are done; leaves the group
  // gracefully on the way out. Returns the exit code.
  int run();
  // Any thread (the signal thread): ends run() soon, interrupting a blocked call.
  void requestStop();

 private:
  void eventLoop(comm::Communicator& comm);
  void printEvent(comm::Communicator& comm, const comm::Event& event);
  void printRing(comm::Communicator& comm, const char* what);
  void print(const EventLine& line);
  void printText(const std::string& text);  // one line, flushed at once
  bool needsUpdate(comm::Communicator& comm) const;
  // One step of the workload: an update (the collective point where joins and
  // losses settle), then an all-reduce whose every element is checked.
  // Prints the step's line, ok or failed (not when stopping aborted the op).
  Status workloadStep(comm::Communicator& comm, uint64_t step, std::vector<float>& data);
  // The all-reduce at the op that `line` names (rank, world size, revision),
  // every element checked; fills the line's bytes, seconds and busbw.
  Status checkedAllReduce(comm::Communicator& comm, StepLine& line, std::vector<float>& data);
  // The state workload's sync at this step; prints its state line.
  Status stateStep(comm::Communicator& comm, uint64_t step);
  // Waits one step; false when it is time to stop.
  bool waitStep();
  // Blocks until the peer is stopped or removed (hang_step).
  void hang();
  bool stopping() const;
  void notify();

  const PeerDaemonOptions options_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  comm::Communicator* comm_ = nullptr;  // for requestStop(), while run() owns it
  std::atomic<bool> removed_{false};
  // Revision at which a member of this peer's ring left or was lost, not yet
  // settled by an update (-1: none).
  std::atomic<int64_t> departure_revision_{-1};
  std::mutex out_mu_;
  uint64_t first_step_ = 1;                 // the workload's first step after admission
  std::unique_ptr<SharedTensors> tensors_;  // the state workload's, when there is one
  bool state_synced_ = false;               // a sync succeeded: no longer RECEIVE_ONLY
};

}  // namespace eccl::tools::peer
