// Shared-state sync on the peer: hash the entries, vote, then run the
// master's transfer rounds (state_sync_arbiter.h) until its final word. A
// round's transfers with one partner run on a thread of their own, so a dead
// or slow source fails only its own ranges; the master re-plans those from
// another holder.
#include <algorithm>
#include <map>
#include <thread>

#include "src/comm/communicator.h"
#include "src/comm/p2p_stream.h"
#include "src/comm/state_piece_stream.h"
#include "src/common/log.h"
#include "src/common/thread_name.h"
#include "src/protocol/messages.h"
#include "src/state/compression.h"
#include "src/state/content_hash.h"
#include "src/state/entry_summary.h"

namespace eccl::comm {

using protocol::MessageType;
using protocol::PlanKind;
using protocol::StateTransfer;

namespace {

constexpr auto kStateChannelGrace = std::chrono::seconds(5);

protocol::StateVote makeVote(uint64_t group_revision, const state::SharedState& shared,
                             state::SyncStrategy strategy,
                             const std::vector<const state::Entry*>& entries,
                             const std::vector<state::Hash128>& hashes) {
  protocol::StateVote vote;
  vote.group_revision = group_revision;
  vote.state_revision = shared.revision;
  vote.strategy = static_cast<uint8_t>(strategy);
  vote.entries = state::summarizeEntries(entries, hashes, /*sample_compression=*/true);
  return vote;
}

}  // namespace

bool transferFits(const StateTransfer& t, const std::vector<const state::Entry*>& entries) {
  return t.entry < entries.size() && t.offset <= entries[t.entry]->bytes() &&
         t.bytes <= entries[t.entry]->bytes() - t.offset;
}

std::vector<Communicator::StateExchange> Communicator::exchangeWithPartners(
    uint64_t sync, const std::map<EndpointId, std::vector<StateTransfer>>& by_partner,
    const std::vector<const state::Entry*>& entries, Clock::time_point deadline) {
  std::vector<StateExchange> results(by_partner.size());
  std::vector<std::thread> workers;
  size_t index = 0;
  for (const auto& partner : by_partner) {
    workers.emplace_back([&, &partner = partner, &result = results[index++]] {
      nameThisThread("eccl-sync");
      Status status = exchangeState(partner.first, sync, partner.second, entries, deadline, result);
      if (!status.isOk()) result.reason = status.toString();
    });
  }
  for (auto& worker : workers)
    worker.join();
  return results;
}

Status Communicator::syncSharedState(state::SharedState& shared, state::SyncStrategy strategy,
                                     std::chrono::milliseconds timeout, state::SyncInfo* info) {
  if (info != nullptr) *info = state::SyncInfo{};
  if (static_cast<uint8_t>(strategy) > state::kMaxStrategy) {
    return invalidArgument("ecclSyncSharedState: unknown strategy");
  }
  if (Status valid = state::validateState(shared); !valid.isOk()) {
    return valid.withContext("ecclSyncSharedState");
  }
  // Exclusive, like a topology update: it runs between collectives, in call order.
  auto request = ops_.submit(
      [&, timeout](coll::OpInfo*, uint64_t sequence) {
        header_turns_.done(sequence);  // it sends no op header
        return runStateSync(shared, strategy, timeout, info);
      },
      JobTraits{.exclusive = true});
  return request->wait();
}

Status Communicator::runStateSync(state::SharedState& shared, state::SyncStrategy strategy,
                                  std::chrono::milliseconds timeout, state::SyncInfo* info) {
  const auto started = Clock::now();
  const auto deadline = started + timeout;
  const auto entries = state::entriesByName(shared);
  uint64_t group_revision;
  {
    std::lock_guard lock(mu_);
    if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
    if (phase_ != Phase::kAccepted) {
      return invalidUsage("ecclSyncSharedState: this peer is not accepted into its group yet");
    }
    group_revision = revision_;
  }
  const auto hashes = state::hashEntries(entries);
  ECCL_LOG_DEBUG("peer {}: shared state revision {}, {} entries hashed in {:.3f} s; voting {}",
                 id_.shortHex(), shared.revision, entries.size(),
                 std::chrono::duration<double>(Clock::now() - started).count(),
                 state::strategyName(strategy));
  {
    std::lock_guard lock(mu_);
    state_plans_.clear();
    control_error_.reset();
  }
  sendControl(MessageType::kStateVote,
              protocol::encodeFrame(makeVote(group_revision, shared, strategy, entries, hashes)));

  state::SyncInfo report;
  std::set<uint32_t> fixed;
  uint64_t sync = 0;
  while (true) {
    protocol::StatePlan plan;
    {
      std::unique_lock lock(mu_);
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::max(deadline - Clock::now(), Clock::duration::zero()));
      Status waited =
          waitFor(lock, left, "ecclSyncSharedState", [&] { return !state_plans_.empty(); });
      if (!waited.isOk()) {
        // Plans of this sync that arrive later must not be taken for the next one's.
        if (sync != 0) abandoned_sync_ = std::max(abandoned_sync_, sync);
        if (waited.code() != Code::kTimeout) return waited;
        return timeoutError(
            "ecclSyncSharedState: " +
            (sync == 0 ? std::string("the master sent no plan (did every member call it?)")
                       : "sync " + std::to_string(sync) + " did not finish after round " +
                             std::to_string(report.rounds)) +
            " within " + std::to_string(timeout.count()) + " ms");
      }
      plan = std::move(state_plans_.front());
      state_plans_.pop_front();
    }
    if (sync != 0 && plan.sync != sync) continue;  // stale
    sync = plan.sync;
    if (plan.kind == PlanKind::kFailed) {
      return Status(plan.code, "ecclSyncSharedState: " + protocol::printable(plan.text, 1000));
    }
    if (plan.kind == PlanKind::kSucceeded) {
      startFetchServers(plan.sync, entries);  // before the caller may change the entries
      shared.revision = plan.state_revision;
      report.revision = plan.state_revision;
      report.entries_fixed = static_cast<uint32_t>(fixed.size());
      report.wall_time = Clock::now() - started;
      if (info != nullptr) *info = report;
      return Status::ok();
    }
    ++report.rounds;
    ECCL_LOG_DEBUG("peer {}: shared state sync {} round {} starts after {:.3f} s", id_.shortHex(),
                   plan.sync, plan.round,
                   std::chrono::duration<double>(Clock::now() - started).count());
    protocol::StateDone done = runStateRound(plan, entries, deadline, report, fixed);
    ECCL_LOG_DEBUG(
        "peer {}: shared state sync {} round {}: {} transfers, {} failed, {} bad entries",
        id_.shortHex(), plan.sync, plan.round, plan.transfers.size(), done.failed_transfers.size(),
        done.bad_entries.size());
    sendControl(MessageType::kStateDone, protocol::encodeFrame(done));
  }
}

protocol::StateDone Communicator::runStateRound(const protocol::StatePlan& plan,
                                                const std::vector<const state::Entry*>& entries,
                                                Clock::time_point deadline, state::SyncInfo& report,
                                                std::set<uint32_t>& verified) {
  protocol::StateDone done;
  done.sync = plan.sync;
  done.round = plan.round;
  // A plan is checked against this peer's entries before any byte moves.
  std::map<EndpointId, std::vector<StateTransfer>> by_partner;
  for (const StateTransfer& t : plan.transfers) {
    const bool mine = t.from == id_ || t.to == id_;
    if (!mine || !transferFits(t, entries)) {
      ECCL_LOG_WARN("peer {}: shared state plan {} round {} has an invalid transfer {}",
                    id_.shortHex(), plan.sync, plan.round, t.id);
      if (t.to == id_) done.failed_transfers.push_back(t.id);
      continue;
    }
    by_partner[t.from == id_ ? t.to : t.from].push_back(t);
  }

  for (const StateExchange& result :
       exchangeWithPartners(plan.sync, by_partner, entries, deadline)) {
    done.failed_transfers.insert(done.failed_transfers.end(), result.failed.begin(),
                                 result.failed.end());
    report.bytes_sent += result.bytes_sent;
    report.bytes_received += result.bytes_received;
    report.wire_bytes_sent += result.wire_sent;
    report.wire_bytes_received += result.wire_received;
    if (done.reason.empty() && !result.reason.empty()) {
      done.reason = result.reason.substr(0, protocol::kMaxReason);
    }
  }

  // Entries whose every range arrived are hashed again before they count.
  const std::set<uint32_t> failed_ids(done.failed_transfers.begin(), done.failed_transfers.end());
  std::set<uint32_t> incomplete;
  for (const StateTransfer& t : plan.transfers) {
    if (t.to == id_ && failed_ids.count(t.id) > 0) incomplete.insert(t.entry);
  }
  for (const auto& [expectation, hash] : state::rehashArrived(plan.receive, incomplete, entries)) {
    const uint32_t entry = expectation->entry;
    if (hash == expectation->hash) {
      verified.insert(entry);
    } else {
      done.bad_entries.push_back(entry);
      if (done.reason.empty()) {
        done.reason = "entry '" + entries[entry]->name + "' arrived with hash " +
                      state::hashHex(hash) + ", expected " + state::hashHex(expectation->hash);
      }
    }
  }
  return done;
}

Status Communicator::exchangeState(const EndpointId& partner, uint64_t sync,
                                   const std::vector<StateTransfer>& transfers,
                                   const std::vector<const state::Entry*>& entries,
                                   Clock::time_point deadline, StateExchange& result) {
  auto failAll = [&](Status why) {
    for (const StateTransfer& t : transfers) {
      if (t.to == id_) result.failed.push_back(t.id);
    }
    return why;
  };
  // A partner that got the same round opens its side at once; one that gave
  // up on the sync (it aborted, say, while the master still counts it alive)
  // never will: its ranges come from another holder after this grace.
  auto channel = p2pChannel(partner, std::min(deadline, Clock::now() + kStateChannelGrace));
  if (!channel) return failAll(channel.status().withContext("shared state transfer"));
  auto state = coll::OpState::create();
  {
    std::lock_guard lock(mu_);
    if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return failAll(terminal);
    p2p_ops_.push_back({partner, state});
  }
  // Raw transfers are one message each (token: their index); zstd ones are
  // piece streams (their own tokens, state_piece_stream.h).
  std::vector<std::unique_ptr<PieceStream>> streams(transfers.size());
  size_t pending = 0;  // transport operations posted and not completed
  for (size_t i = 0; i < transfers.size(); ++i) {
    const StateTransfer& t = transfers[i];
    const uint64_t stream = stateStreamId(sync, t.id);
    const std::span<uint8_t> bytes(static_cast<uint8_t*>(entries[t.entry]->data) + t.offset,
                                   t.bytes);
    if (t.codec != 0) {
      streams[i] = std::make_unique<PieceStream>(t.from == id_, bytes, stream, i);
      pending += streams[i]->start(**channel, *state);
    } else if (t.from == id_) {
      (*channel)->send(stream, bytes, state->callback(i));
      ++pending;
    } else {
      (*channel)->recv(stream, bytes, state->callback(i));
      ++pending;
    }
  }
  const bool serving = std::any_of(transfers.begin(), transfers.end(),
                                   [&](const StateTransfer& t) { return t.from == id_; });
  if (serving && options_.fault_hook) options_.fault_hook("state-serve", id_);

  // Like a point-to-point op: a failure, an abort or the deadline closes the
  // channel, the only way to end transfers that hold entry memory.
  std::vector<bool> transfer_failed(transfers.size(), false);
  Status first_error;
  auto failTransfer = [&](size_t i, const Status& why) {
    if (transfer_failed[i]) return;
    transfer_failed[i] = true;
    if (transfers[i].to == id_) result.failed.push_back(transfers[i].id);
    if (first_error.isOk()) first_error = why;
  };
  std::optional<Status> cause;
  while (pending > 0) {
    std::vector<coll::Completion> done;
    std::optional<Status> external =
        state->wait(cause ? Clock::now() + std::chrono::seconds(1) : deadline, done);
    for (const coll::Completion& completion : done) {
      --pending;
      if (!PieceStream::ownsToken(completion.token)) {
        if (!completion.status.isOk()) failTransfer(completion.token, completion.status);
        continue;
      }
      const size_t i = PieceStream::indexOf(completion.token);
      if (transfer_failed[i]) continue;  // its other operations end with the channel
      auto posted =
          streams[i]->onCompletion(completion.token, completion.status, **channel, *state);
      if (posted) {
        pending += *posted;
        continue;
      }
      failTransfer(i, posted.status());
      // Its posted receives hold the entry: only closing the channel ends them.
      if (!cause) cause = posted.status();
      (*channel)->close("shared state transfer failed on peer " + id_.shortHex() + ": " +
                        cause->toString());
    }
    if (pending == 0 || cause) continue;
    if (external) {
      cause = *external;
    } else if (Clock::now() >= deadline) {
      cause = timeoutError("shared state transfer with peer " + partner.shortHex() +
                           " did not complete before the deadline");
    } else {
      continue;
    }
    const auto stats = (*channel)->stats();
    ECCL_LOG_DEBUG(
        "peer {}: shared state exchange with peer {} ends with {} operations outstanding "
        "(channel: {} messages sent, {} received, pool peak {} B): {}",
        id_.shortHex(), partner.shortHex(), pending, stats.messages_sent, stats.messages_received,
        stats.pool_bytes_peak, cause->toString());
    (*channel)->close("shared state transfer failed on peer " + id_.shortHex() + ": " +
                      cause->toString());
  }
  {
    std::lock_guard lock(mu_);
    std::erase_if(p2p_ops_, [&](const P2pOp& op) { return op.state == state; });
  }
  for (size_t i = 0; i < transfers.size(); ++i) {
    const StateTransfer& t = transfers[i];
    if (transfer_failed[i]) continue;
    const uint64_t wire = streams[i] ? streams[i]->wireBytes() : t.bytes;
    if (t.from == id_) {
      result.bytes_sent += t.bytes;
      result.wire_sent += wire;
    } else {
      result.bytes_received += t.bytes;
      result.wire_received += wire;
    }
  }
  if (cause) return *cause;
  if (!first_error.isOk()) {
    return Status(coll::transferFailureCode(first_error.code()),
                  "shared state transfer with peer " + partner.shortHex() +
                      " failed: " + first_error.toString());
  }
  return Status::ok();
}

void Communicator::onStatePlan(const protocol::StatePlan& plan) {
  std::lock_guard lock(mu_);
  // Bounded: plans only come while this peer syncs, a handful per round.
  if (plan.sync <= abandoned_sync_ || state_plans_.size() >= kMaxQueuedPlans) return;
  state_plans_.push_back(plan);
  changed_.notify_all();
}

}  // namespace eccl::comm
