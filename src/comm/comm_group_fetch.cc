// A fetch of another group's shared state (fetchGroupState; CheckFree: a
// stage's replacement fetches its neighbours' weights): the same snapshot
// transfer as a joiner's fetch (comm_state_fetch.cc: runFetch, the sources'
// serving), but the fetcher joins nothing, and since no later sync repairs
// what did not arrive, a missing entry is the caller's error.
//
// Each fetch has a number of its own (group_fetch_id_: 1, 2, ... per comm)
// that its request, its plan and its StateFetchDone carry: a fetch that gave
// up waiting (timeout) ends with a StateFetchDone, but the master may have
// sent its plan already; that late plan names the old number and is dropped
// (onStateFetchPlan), so the comm's next fetch waits for its own plan, of a
// sync after its own request.
#include <algorithm>

#include "src/comm/communicator.h"
#include "src/common/log.h"
#include "src/protocol/messages.h"
#include "src/state/entry_summary.h"

namespace eccl::comm {

using protocol::MessageType;

Status Communicator::fetchGroupState(const std::string& group, state::SharedState& shared,
                                     uint64_t bytes_per_s, std::chrono::milliseconds timeout,
                                     state::SyncInfo* info) {
  if (info != nullptr) *info = state::SyncInfo{};
  if (group.empty() || group.size() > protocol::kMaxGroupName) {
    return invalidArgument("fetchGroupState: the group name must be 1.." +
                           std::to_string(protocol::kMaxGroupName) + " bytes");
  }
  if (Status valid = state::validateState(shared); !valid.isOk()) return valid;
  const auto started = Clock::now();
  const auto deadline = started + timeout;
  const auto entries = state::entriesByName(shared);
  protocol::StateFetchRequest request;
  request.bytes_per_s = bytes_per_s;
  request.group = group;
  request.entries = state::summarizeEntries(entries, state::hashEntries(entries),
                                            /*sample_compression=*/false);
  {
    std::lock_guard lock(mu_);
    if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
    if (phase_ != Phase::kPending && phase_ != Phase::kAccepted) {
      return invalidUsage("fetchGroupState: this peer is not connected to the master");
    }
    if (group_fetching_ || fetch_state_) {
      return invalidUsage("fetchGroupState: another fetch of this communicator is running");
    }
    group_fetching_ = true;
    group_fetch_plan_.reset();
    request.fetch = ++group_fetch_id_;
  }
  // Ends the fetch on this side (a late plan of it names a number no longer running:
  // dropped) and on the master's (a Done names the fetch it ends).
  auto finish = [&](uint64_t sync, const protocol::StateFetchDone* done) {
    {
      std::lock_guard lock(mu_);
      group_fetching_ = false;
      group_fetch_plan_.reset();
    }
    protocol::StateFetchDone end = done != nullptr ? *done : protocol::StateFetchDone{};
    end.fetch = request.fetch;
    end.sync = sync;
    sendControl(MessageType::kStateFetchDone, protocol::encodeFrame(end));
  };
  sendControl(MessageType::kStateFetchRequest, protocol::encodeFrame(request));
  if (options_.fault_hook) options_.fault_hook("group-fetch-requested", id_);
  protocol::StateFetchPlan plan;
  {
    std::unique_lock lock(mu_);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(deadline - Clock::now(), Clock::duration::zero()));
    Status waited = waitFor(lock, left, "waiting for the next shared-state sync of the group",
                            [&] { return group_fetch_plan_.has_value(); });
    if (!waited.isOk()) {
      lock.unlock();
      finish(0, nullptr);  // the master forgets the request
      return waited.withContext("fetching group '" + group + "'s shared state");
    }
    plan = *group_fetch_plan_;  // onStateFetchPlan checked plan.fetch == request.fetch
  }
  if (plan.code != Code::kOk) {
    finish(plan.sync, nullptr);
    return Status(plan.code, protocol::printable(plan.text, 1000));
  }
  state::SyncInfo report;
  protocol::StateFetchDone done;
  ECCL_LOG_INFO(
      "peer {}: fetching {} entries of group '{}' at shared state revision {} from {} transfers",
      id_.shortHex(), plan.receive.size(), group, plan.state_revision, plan.transfers.size());
  Status fetched = runFetch(plan, entries, deadline, report, done);
  finish(plan.sync, &done);
  if (!fetched.isOk()) return fetched.withContext("fetching group '" + group + "'s shared state");
  if (done.entries_missing > 0) {
    return Status(Code::kPeerLost,
                  std::to_string(done.entries_missing) + " of " +
                      std::to_string(plan.receive.size()) + " entries of group '" + group +
                      "'s shared state did not arrive (a source was lost); fetch again");
  }
  shared.revision = plan.state_revision;
  report.revision = plan.state_revision;
  report.wall_time = Clock::now() - started;
  if (info != nullptr) *info = report;
  return Status::ok();
}

}  // namespace eccl::comm
