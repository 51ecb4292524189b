// DiLoCo's outer loop over a communicator's ring: every H inner steps each
// peer all-reduces its pseudo-gradient (round start - parameters), takes a
// Nesterov step on the average, and carries on from the new outer parameters.
//
// Synchronous mode waits for the all-reduce at the round boundary.
// Asynchronous (one-step-delayed) mode launches round t's all-reduce and
// returns at once; it is applied at the end of round t+1, with the progress
// of round t+1 carried over onto the new outer parameters, so the link works
// while the next round computes. One all-reduce is in flight at a time: ops
// of a comm run in order, so a second one could not start sooner anyway.
//
// Every boundary is a collective of the ring. A failed all-reduce (every
// survivor gets the error: they agree) is retried on the survivors' ring
// with the same pseudo-gradients, so no round is lost or applied twice.
// Joiners are admitted at a boundary that every member agrees on: each
// pseudo-gradient carries two counters (contributors, peers that saw a
// joiner waiting), and a nonzero sum makes the next boundary update the
// topology; the outer parameters, momentum and round counters then reach
// the joiner through a shared-state sync, and it takes part in the rounds in
// flight with zero progress and zero weight.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "src/comm/communicator.h"
#include "src/diloco/outer_state.h"

namespace eccl::diloco {

enum class Mode : uint8_t { kSync = 0, kAsync = 1 };

struct OuterOptions {
  float lr = 0.7f;        // outer learning rate
  float momentum = 0.9f;  // Nesterov momentum
  Mode mode = Mode::kSync;
  uint64_t tag = 0;  // the tag of the loop's all-reduces (< 2^32; keep it for the loop alone)
  std::chrono::milliseconds timeout{60000};  // each all-reduce, update and sync
  uint32_t max_attempts = 4;                 // tries of a boundary's collectives (>= 1)
  // The caller's own entries (e.g. the inner optimiser's state, a data
  // cursor), synced with the loop's whenever a joiner arrives. Their names
  // must not start with kStatePrefix.
  std::vector<state::Entry> extra_state;
  // The group's shared-state revision before the loop's first sync (0 for a
  // group that never synced; the loop's syncs move it by one each).
  uint64_t state_revision = 0;
};

inline constexpr const char* kStatePrefix = "eccl.diloco.";

struct StepReport {
  uint64_t round = 0;           // rounds whose pseudo-gradients were launched so far
  uint64_t applied = 0;         // rounds applied to the outer parameters so far
  uint32_t contributors = 0;    // peers in the last applied average (0: none applied now)
  uint32_t attempts = 0;        // all-reduces this call started (re-runs and a launch included)
  bool synced = false;          // a joiner arrived and the state was synced
  uint64_t state_revision = 0;  // the group's shared-state revision after the call
  std::chrono::nanoseconds blocked{0};  // waiting for the network (0 when fully hidden)
  std::chrono::nanoseconds wall_time{0};
};

class OuterLoop {
 public:
  // A member of the ring: a collective with the other members, who call it
  // with the same options and counts. Syncs the initial outer state
  // (the popular parameters win) and copies it into the parameters.
  static Result<std::unique_ptr<OuterLoop>> start(comm::Communicator& comm,
                                                  std::vector<Param> params, reduce::DType dtype,
                                                  OuterOptions options);
  // A new peer (comm created, not connected): connects, waits for admission
  // (at a boundary of the members), receives the outer state and the extra
  // entries, takes part in the rounds in flight, and returns in step with
  // the members: the next call is step() after H inner steps.
  static Result<std::unique_ptr<OuterLoop>> join(comm::Communicator& comm,
                                                 std::vector<Param> params, reduce::DType dtype,
                                                 OuterOptions options);
  // Waits for an all-reduce still in flight (it uses this loop's buffers).
  ~OuterLoop();
  OuterLoop(const OuterLoop&) = delete;
  OuterLoop& operator=(const OuterLoop&) = delete;

  // The round boundary, after the inner steps (see the file comment).
  // Errors: a failure that max_attempts retries did not overcome, or one that
  // is not retryable (kInvalidUsage: peers disagree; kAborted); the loop is
  // then unusable.
  Status step(StepReport* report);
  // Applies the round in flight (asynchronous mode), so the parameters hold
  // every round's average: before an evaluation, a checkpoint, or the end.
  // Local progress since the last step is kept. A collective, like step().
  Status flush(StepReport* report);

  uint64_t applied() const { return state_.applied(); }
  uint64_t launched() const { return state_.launched(); }
  // The group's shared-state revision after the loop's last sync (a later
  // loop or sync of the group starts from it).
  uint64_t stateRevision() const { return revision_; }
  const OuterOptions& options() const { return options_; }

 private:
  OuterLoop(comm::Communicator& comm, std::vector<Param> params, reduce::DType dtype,
            OuterOptions options);

  // step() (new_round: pack this round's progress first) and flush().
  Status boundary(bool new_round, StepReport* report);
  static Status validate(const std::vector<Param>& params, reduce::DType dtype,
                         const OuterOptions& options);
  // Runs the rounds launched and not applied, in order: blocking, except the
  // last one in asynchronous mode when `launch_last` (launched, not waited).
  Status runOutstanding(bool launch_last, StepReport* report);
  // Waits for the round in flight; applies it on success.
  Status finishInFlight(StepReport* report);
  // The survivors' ring, the joiners admitted and synced, then the rounds
  // outstanding, retried up to max_attempts times.
  Status settle(bool update_first, bool launch_last, StepReport* report);
  Status updateTopology();
  Status syncState(state::SyncStrategy strategy, StepReport* report);
  void apply(uint64_t round, StepReport* report);
  Trailer localTrailer() const;
  // Every member runs the loop with the same lr, momentum and mode: an
  // all-reduce (max) of the options' fingerprint and its complement.
  Status checkMembersAgree();
  std::set<EndpointId> ringMembers() const;

  comm::Communicator& comm_;
  OuterOptions options_;
  OuterState state_;
  std::shared_ptr<comm::Request> in_flight_;  // the round launched - 1, asynchronous mode
  std::set<EndpointId> members_;              // the ring at the last sync or update
  uint64_t revision_ = 0;                     // the group's shared-state revision, last sync
  // The options' fingerprint: synced (a joiner receives the members' and
  // compares it with its own), and what this peer expects.
  uint64_t synced_fingerprint_ = 0;
  uint64_t fingerprint_ = 0;
  bool needs_sync_ = false;  // a joiner arrived and no sync succeeded since
  bool joining_ = false;     // this peer has not received the state yet
  bool admit_ = false;       // some peer saw a joiner waiting
  bool broken_ = false;      // an unrecoverable error ended the loop
};

}  // namespace eccl::diloco
