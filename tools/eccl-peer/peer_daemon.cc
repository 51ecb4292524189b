#include "tools/eccl-peer/peer_daemon.h"

#include <xxhash.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <thread>

#include "src/common/status.h"
#include "tools/eccl-bench/allreduce_stats.h"
#include "tools/eccl-peer/input_pattern.h"

namespace eccl::tools::peer {
namespace {

// How often the event thread looks for events: the resolution of their timestamps.
constexpr auto kEventPoll = std::chrono::milliseconds(5);

const char* eventName(comm::EventKind kind) {
  switch (kind) {
    case comm::EventKind::kJoined:
      return "joined";
    case comm::EventKind::kLeft:
      return "left";
    case comm::EventKind::kLost:
      return "lost";
    case comm::EventKind::kEvicted:
      return "evicted";
    case comm::EventKind::kStageLost:
      return "stage_lost";
    case comm::EventKind::kStageRestored:
      return "stage_restored";
    case comm::EventKind::kHungPeer:
      return "hung_peer";
    case comm::EventKind::kStraggler:
      return "straggler";
    case comm::EventKind::kSlowLink:
      return "slow_link";
    case comm::EventKind::kSlowNode:
      return "slow_node";
    case comm::EventKind::kFrozenLink:
      return "frozen_link";
  }
  return "unknown";
}

int64_t steadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void printError(const char* what, const Status& status) {
  std::fprintf(stderr, "eccl-peer: %s: %s\n", what, status.toString().c_str());
}

}  // namespace

void PeerDaemon::print(const EventLine& line) {
  printText(formatEventLine(line, options_.json));
}

void PeerDaemon::printText(const std::string& text) {
  std::lock_guard lock(out_mu_);
  std::fprintf(stdout, "%s\n", text.c_str());
  std::fflush(stdout);  // line by line even into a pipe: readers wait for each line
}

void PeerDaemon::printRing(comm::Communicator& comm, const char* what) {
  EventLine line;
  line.t_ns = steadyNs();
  line.event = what;
  line.peer = comm.peerId().toHex();
  line.rank = comm.rank();
  line.world_size = comm.worldSize();
  line.revision = comm.revision();
  print(line);
}

void PeerDaemon::printEvent(comm::Communicator& comm, const comm::Event& event) {
  EventLine line;
  line.t_ns = steadyNs();
  line.event = eventName(event.kind);
  line.peer = event.peer.toHex();
  line.rank = comm.rank();
  line.world_size = comm.worldSize();
  line.revision = event.revision;
  print(line);
}

void PeerDaemon::eventLoop(comm::Communicator& comm) {
  while (true) {
    while (auto event = comm.pollEvent()) {
      printEvent(comm, *event);
      // Only a departure about this peer removes it: the master also names it
      // in anomaly findings (a straggler is reported and stays).
      const bool departure = event->kind == comm::EventKind::kLeft ||
                             event->kind == comm::EventKind::kLost ||
                             event->kind == comm::EventKind::kEvicted;
      if (departure && event->peer == comm.peerId()) {
        removed_.store(true);
        notify();
        continue;
      }
      if (event->kind == comm::EventKind::kJoined) continue;
      // Only a departure from this peer's committed ring needs an update to settle.
      const auto members = comm.members();
      const bool in_ring = std::any_of(members.begin(), members.end(),
                                       [&](const auto& m) { return m.peer == event->peer; });
      if (in_ring) {
        auto revision = static_cast<int64_t>(event->revision);
        int64_t seen = departure_revision_.load();
        while (seen < revision && !departure_revision_.compare_exchange_weak(seen, revision)) {
        }
        notify();
      }
    }
    std::unique_lock lock(mu_);
    if (wake_.wait_for(lock, kEventPoll, [&] { return stop_; })) return;
  }
}

void PeerDaemon::notify() {
  std::lock_guard lock(mu_);  // so that a waiter between its check and its wait cannot miss it
  wake_.notify_all();
}

bool PeerDaemon::needsUpdate(comm::Communicator& comm) const {
  return comm.peersPending() > 0 ||
         departure_revision_.load() >= static_cast<int64_t>(comm.revision());
}

Status PeerDaemon::workloadStep(comm::Communicator& comm, uint64_t step, std::vector<float>& data) {
  // Every accepted peer updates every step, so all of them reach the all-reduce
  // with the same ring; the revision then names the op (the same tag on every
  // peer). A peer admitted just now was part of that update already: its
  // connect() returned at the same commit.
  if (step > first_step_) {
    if (Status updated = comm.updateTopology(options_.comm.timeout); !updated) {
      if (!stopping()) printError("topology update", updated);
      // As without the workload: an update fails with kPeerLost once the master removed this peer.
      if (updated.code() == Code::kPeerLost) removed_.store(true);
      return updated;
    }
  }
  if (step == options_.hang_step) {
    hang();
    return Status::ok();
  }
  // A sync is a collective of the ring: every member must make the same
  // choice, so the cadence follows the ring's revision (the same on every
  // member after this step's update), not this peer's own step count.
  const bool sync_due = comm.revision() % options_.state_every == 0;
  if (tensors_ && sync_due) ECCL_RETURN_IF_ERROR(stateStep(comm, step));
  if (options_.allreduce_bytes == 0) return Status::ok();
  // The op's identity, read before it runs: its line names it even when it fails.
  StepLine line;
  line.step = step;
  line.rank = comm.rank();
  line.world_size = comm.worldSize();
  line.revision = comm.revision();
  Status done = checkedAllReduce(comm, line, data);
  line.t_ns = steadyNs();
  // An op that stopping aborted is no outcome: this peer is no survivor.
  if (!done && stopping()) return done;
  line.ok = done.isOk();
  if (!line.ok) {
    line.code = codeName(done.code());
    line.error = done.message();
  }
  printText(formatStepLine(line, options_.json));
  return done;
}

Status PeerDaemon::stateStep(comm::Communicator& comm, uint64_t step) {
  auto& shared = tensors_->state();
  const bool receiving = options_.state_receive && !state_synced_;
  // A holder moves by one per sync; a joiner takes whatever the group is at.
  if (!receiving) ++shared.revision;
  StateLine line;
  line.step = step;
  line.strategy = receiving ? "RECEIVE_ONLY" : "ENFORCE_POPULAR";
  state::SyncInfo info;
  Status synced = comm.syncSharedState(
      shared, receiving ? state::SyncStrategy::kReceiveOnly : state::SyncStrategy::kEnforcePopular,
      options_.comm.timeout, &info);
  line.t_ns = steadyNs();
  if (!synced && stopping()) return synced;
  line.ok = synced.isOk();
  if (line.ok) {
    state_synced_ = true;
    line.revision = shared.revision;
    line.hash = tensors_->hash();
    line.bytes_received = info.bytes_received;
    line.bytes_sent = info.bytes_sent;
    line.entries_fixed = info.entries_fixed;
    line.rounds = info.rounds;
    line.seconds = std::chrono::duration<double>(info.wall_time).count();
  } else {
    if (!receiving) --shared.revision;  // the sync did not happen: present it again
    line.code = codeName(synced.code());
    line.error = synced.message();
  }
  printText(formatStateLine(line, options_.json));
  return synced;
}

Status PeerDaemon::checkedAllReduce(comm::Communicator& comm, StepLine& line,
                                    std::vector<float>& data) {
  const InputPattern pattern(options_.input_seed, line.revision, line.world_size);
  pattern.fill(data, line.rank);
  coll::OpInfo info;
  const uint64_t tag = line.revision & 0xffff'ffffu;
  const quant::QuantConfig* quant = options_.quant ? &*options_.quant : nullptr;
  ECCL_RETURN_IF_ERROR(comm.allReduce(data.data(), data.data(), data.size(), reduce::DType::kF32,
                                      reduce::ReduceOp::kSum, tag, options_.comm.timeout, &info,
                                      quant));
  // Exact without quantization; else within the ring's a-priori bound.
  const double bound =
      quant == nullptr
          ? 0.0
          : quant::ringErrorBound(*quant, reduce::DType::kF32,
                                  static_cast<uint32_t>(line.world_size), pattern.maxAbsInput());
  for (uint64_t i = 0; i < data.size(); ++i) {
    const double error = std::abs(static_cast<double>(data[i]) - pattern.expected(i));
    if (!(error <= bound)) {
      return internalError("all-reduce result wrong at element " + std::to_string(i) + ": " +
                           std::to_string(data[i]) + " instead of " +
                           std::to_string(pattern.expected(i)) +
                           (quant != nullptr ? " (bound " + std::to_string(bound) + ")" : ""));
    }
  }
  if (line.step == options_.corrupt_step && !data.empty()) data[0] += 1.0f;
  line.hash = XXH3_64bits(data.data(), data.size() * sizeof(float));
  line.bytes = data.size() * sizeof(float);
  line.seconds = std::chrono::duration<double>(info.wall_time).count();
  line.busbw_gbs = bench::busBandwidthGbs(line.bytes, line.seconds, line.world_size);
  return Status::ok();
}

bool PeerDaemon::stopping() const {
  std::lock_guard lock(mu_);
  return stop_;
}

bool PeerDaemon::waitStep() {
  std::unique_lock lock(mu_);
  return !wake_.wait_for(lock, options_.step, [&] { return stop_ || removed_.load(); });
}

void PeerDaemon::hang() {
  std::unique_lock lock(mu_);
  wake_.wait(lock, [&] { return stop_ || removed_.load(); });
}

void PeerDaemon::requestStop() {
  std::lock_guard lock(mu_);
  stop_ = true;
  // Ends a blocked connect() or updateTopology(); the destructor still leaves gracefully.
  if (comm_ != nullptr) comm_->abort("eccl-peer is stopping");
  wake_.notify_all();
}

int PeerDaemon::run() {
  auto created = comm::Communicator::create(options_.comm);
  if (!created) {
    printError("cannot create the communicator", created.status());
    return kExitFailed;
  }
  std::unique_ptr<comm::Communicator> comm = std::move(*created);
  {
    std::lock_guard lock(mu_);
    if (stop_) return kExitOk;
    comm_ = comm.get();
  }

  int exit_code = kExitOk;
  std::thread events;
  if (options_.state_bytes > 0) {
    tensors_ = std::make_unique<SharedTensors>(options_.state_bytes, options_.state_entries,
                                               options_.state_seed, options_.state_receive);
  }
  const bool fetching = tensors_ && options_.state_fetch_bytes_per_s.has_value();
  if (Status connected =
          fetching ? comm->connectWithState(tensors_->state(), *options_.state_fetch_bytes_per_s,
                                            options_.comm.timeout, nullptr)
                   : comm->connect(options_.comm.timeout);
      !connected) {
    if (!stopping()) {
      printError("cannot join the group", connected);
      exit_code = kExitFailed;
    }
  } else {
    printRing(*comm, "admitted");
    events = std::thread([this, &comm] { eventLoop(*comm); });
    uint64_t last_revision = comm->revision();
    uint64_t steps = 0;
    std::vector<float> data(options_.allreduce_bytes / sizeof(float));
    // Wait first: right after an update the group's pending count is still the old one.
    while (waitStep()) {
      if (!data.empty() || tensors_) {
        // (A failure is reported where it happened: a failed step line or the update's error.)
        Status done = workloadStep(*comm, steps + 1, data);
        if (!done && !stopping()) {
          // A lost peer fails the op on every survivor; the next step's update settles it.
          if (done.code() == Code::kInternalError) {
            exit_code = kExitFailed;
            break;
          }
          if (done.code() == Code::kPeerLost && comm->worldSize() == 0) removed_.store(true);
        }
      } else if (needsUpdate(*comm)) {
        Status updated = comm->updateTopology(options_.comm.timeout);
        if (!updated && !stopping()) {
          printError("topology update", updated);
          if (updated.code() == Code::kPeerLost) removed_.store(true);
        }
      }
      // Also catches commits this peer had voted for in an update that timed out.
      if (comm->revision() != last_revision) {
        last_revision = comm->revision();
        printRing(*comm, "topology");
      }
      ++steps;
      if (removed_.load() || (options_.steps != 0 && steps >= options_.steps)) break;
    }
    if (removed_.load()) exit_code = kExitRemoved;
  }

  {
    std::lock_guard lock(mu_);
    stop_ = true;
    comm_ = nullptr;
    wake_.notify_all();
  }
  if (events.joinable()) events.join();
  while (auto event = comm->pollEvent())
    printEvent(*comm, *event);
  comm.reset();  // leaves the group (the others see "left")
  return exit_code;
}

}  // namespace eccl::tools::peer
