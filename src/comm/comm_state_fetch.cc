// A joiner's background fetch of the shared state (connectWithState): the
// snapshot is the result of the group's next successful sync after the
// request. The sources copy the ranges they serve when that sync ends and
// send them paced on the channel to the joiner (the kernel paces it:
// Channel::setPacingRate) from a thread of their own, so the group's
// collectives keep most of the link; the joiner hashes what arrived, tells the
// master, and is admitted like any pending peer.
#include <sys/mman.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>
#include <thread>

#include "src/comm/communicator.h"
#include "src/common/log.h"
#include "src/common/thread_name.h"
#include "src/protocol/messages.h"
#include "src/state/entry_summary.h"

namespace eccl::comm {

using protocol::MessageType;
using protocol::StateTransfer;

namespace {

constexpr size_t kHugePage = size_t{2} << 20;

struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }
};

// Memory for a snapshot copy, in transparent huge pages where the kernel has
// them: the copy's cost is its page faults (hundreds of MiB, once per fetch),
// and 2 MiB pages take 512 times fewer.
std::unique_ptr<uint8_t, FreeDeleter> allocateCopy(size_t bytes) {
  const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  auto* memory = static_cast<uint8_t*>(std::aligned_alloc(kHugePage, rounded));
  if (memory != nullptr) ::madvise(memory, rounded, MADV_HUGEPAGE);  // advice: failure is harmless
  return std::unique_ptr<uint8_t, FreeDeleter>(memory);
}

// How long a source keeps serving: the paced transfer's own time twice over,
// on top of the usual deadline.
std::chrono::milliseconds serveTime(uint64_t bytes, uint64_t bytes_per_s,
                                    std::chrono::milliseconds timeout) {
  if (bytes_per_s == 0) return timeout;
  return timeout + std::chrono::milliseconds(2 * bytes * 1000 / bytes_per_s);
}

}  // namespace

// A source's copy of the ranges it serves, in one buffer: one pseudo-entry of
// bytes per transfer, which the transfers (renumbered) address at offset 0.
struct Communicator::PinnedRanges {
  std::unique_ptr<uint8_t, FreeDeleter> buffer;
  std::vector<state::Entry> entries;
  std::vector<StateTransfer> transfers;
  uint64_t bytes = 0;
};

Status Communicator::connectWithState(state::SharedState& shared, uint64_t bytes_per_s,
                                      std::chrono::milliseconds timeout, state::SyncInfo* info) {
  if (info != nullptr) *info = state::SyncInfo{};
  if (Status valid = state::validateState(shared); !valid.isOk()) return valid;
  const auto started = Clock::now();
  const auto deadline = started + timeout;
  auto left = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
        std::max(deadline - Clock::now(), Clock::duration::zero()));
  };
  const auto entries = state::entriesByName(shared);
  protocol::StateFetchRequest request;
  request.bytes_per_s = bytes_per_s;
  request.entries = state::summarizeEntries(entries, state::hashEntries(entries),
                                            /*sample_compression=*/false);
  {
    std::unique_lock lock(mu_);
    if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
    if (phase_ != Phase::kCreated) {
      return invalidUsage("already connected");
    }
    phase_ = Phase::kConnecting;
    fetch_state_ = true;
    fetch_request_ = request;
  }
  control_->start();
  {
    std::unique_lock lock(mu_);
    ECCL_RETURN_IF_ERROR(waitFor(lock, left(), "connecting to the master", [&] {
      return phase_ == Phase::kPending || phase_ == Phase::kAccepted;
    }));
  }
  sendControl(MessageType::kStateFetchRequest, protocol::encodeFrame(request));
  protocol::StateFetchPlan plan;
  {
    std::unique_lock lock(mu_);
    ECCL_RETURN_IF_ERROR(waitFor(lock, left(), "waiting for the group's next shared-state sync",
                                 [&] { return fetch_plan_.has_value(); }));
    plan = *fetch_plan_;
  }
  if (plan.code != Code::kOk) {
    return Status(plan.code, protocol::printable(plan.text, 1000));
  }
  state::SyncInfo report;
  protocol::StateFetchDone done;
  done.fetch = plan.fetch;  // 0: a joiner's fetch
  done.sync = plan.sync;
  if (plan.sync != 0) {
    ECCL_LOG_INFO("peer {}: fetching {} entries of shared state revision {} from {} transfers",
                  id_.shortHex(), plan.receive.size(), plan.state_revision, plan.transfers.size());
    Status fetched = runFetch(plan, entries, deadline, report, done);
    if (!fetched.isOk()) return fetched.withContext("shared state fetch");
    shared.revision = plan.state_revision;
    report.revision = plan.state_revision;
  }
  {
    std::lock_guard lock(mu_);
    fetch_state_ = false;  // a registration from here on is an ordinary pending one
  }
  sendControl(MessageType::kStateFetchDone, protocol::encodeFrame(done));
  {
    std::unique_lock lock(mu_);
    ECCL_RETURN_IF_ERROR(waitFor(lock, left(), "waiting for admission after the state fetch",
                                 [&] { return phase_ == Phase::kAccepted; }));
  }
  report.wall_time = Clock::now() - started;
  if (info != nullptr) *info = report;
  return Status::ok();
}

Status Communicator::runFetch(const protocol::StateFetchPlan& plan,
                              const std::vector<const state::Entry*>& entries,
                              Clock::time_point deadline, state::SyncInfo& report,
                              protocol::StateFetchDone& done) {
  std::map<EndpointId, std::vector<StateTransfer>> by_source;
  for (const StateTransfer& t : plan.transfers) {
    if (!transferFits(t, entries)) {
      return protocolError("the master's fetch plan has a transfer outside entry " +
                           std::to_string(t.entry));
    }
    by_source[t.from].push_back(t);
  }
  rememberAddresses(plan);
  std::set<uint32_t> failed;
  for (const StateExchange& result :
       exchangeWithPartners(plan.sync, by_source, entries, deadline)) {
    failed.insert(result.failed.begin(), result.failed.end());
    report.bytes_received += result.bytes_received;
    report.wire_bytes_received += result.wire_received;
    if (!result.reason.empty()) {
      ECCL_LOG_WARN(
          "peer {}: part of the state fetch failed (a joiner's first sync brings it; "
          "a fetch of another group reports it): {}",
          id_.shortHex(), result.reason);
    }
  }
  std::set<uint32_t> incomplete;
  for (const StateTransfer& t : plan.transfers) {
    if (failed.count(t.id) > 0) incomplete.insert(t.entry);
  }
  for (const auto& [expectation, hash] : state::rehashArrived(plan.receive, incomplete, entries)) {
    if (hash == expectation->hash) ++done.entries_verified;
  }
  done.entries_missing = static_cast<uint32_t>(plan.receive.size()) - done.entries_verified;
  report.entries_fixed = done.entries_verified;
  report.rounds = 1;
  ECCL_LOG_INFO(
      "peer {}: fetched {} bytes of shared state ({} on the wire): {} entries verified, "
      "{} missing",
      id_.shortHex(), report.bytes_received, report.wire_bytes_received, done.entries_verified,
      done.entries_missing);
  return Status::ok();
}

void Communicator::startFetchServers(uint64_t sync,
                                     const std::vector<const state::Entry*>& entries) {
  std::vector<protocol::StateFetchPlan> orders;
  {
    std::lock_guard lock(mu_);
    auto it = serve_orders_.find(sync);
    if (it != serve_orders_.end()) orders = std::move(it->second);
    serve_orders_.erase(serve_orders_.begin(), serve_orders_.upper_bound(sync));
  }
  if (orders.empty()) return;
  joinFetchServers(/*all=*/false);
  for (const protocol::StateFetchPlan& order : orders) {
    // The snapshot is this sync's result: copy it now, the caller may change
    // the entries as soon as the sync returns.
    auto pinned = std::make_shared<PinnedRanges>();
    std::vector<const StateTransfer*> mine;
    for (const StateTransfer& t : order.transfers) {
      if (t.from != id_ || !transferFits(t, entries)) {
        ECCL_LOG_WARN("peer {}: fetch plan of sync {} has an invalid transfer {}", id_.shortHex(),
                      sync, t.id);
        continue;
      }
      mine.push_back(&t);
      pinned->bytes += t.bytes;
    }
    if (mine.empty()) continue;
    const auto copy_started = Clock::now();
    pinned->buffer = allocateCopy(pinned->bytes);
    if (!pinned->buffer) {
      ECCL_LOG_WARN(
          "peer {}: no memory for a {}-byte snapshot copy: its fetcher gets those "
          "ranges at its first sync",
          id_.shortHex(), pinned->bytes);
      continue;
    }
    uint64_t at = 0;
    for (const StateTransfer* t : mine) {
      uint8_t* copy = pinned->buffer.get() + at;
      std::memcpy(copy, static_cast<const uint8_t*>(entries[t->entry]->data) + t->offset, t->bytes);
      state::Entry range;
      range.name = entries[t->entry]->name;
      range.data = copy;
      range.count = t->bytes;
      range.dtype = reduce::DType::kU8;
      StateTransfer served = *t;
      served.entry = static_cast<uint32_t>(pinned->entries.size());
      served.offset = 0;
      pinned->entries.push_back(std::move(range));
      pinned->transfers.push_back(served);
      at += t->bytes;
    }
    ECCL_LOG_INFO("peer {}: keeps {} bytes of sync {} for peer {}'s fetch (copied in {:.3f} s)",
                  id_.shortHex(), pinned->bytes, sync, order.fetcher.shortHex(),
                  std::chrono::duration<double>(Clock::now() - copy_started).count());
    auto finished = std::make_shared<std::atomic<bool>>(false);
    fetches_serving_.fetch_add(1);
    std::lock_guard lock(fetch_servers_mu_);
    fetch_servers_.push_back({std::thread([this, order, pinned, finished] {
                                nameThisThread("eccl-fetch-srv");
                                serveFetch(order, *pinned);
                                fetches_serving_.fetch_sub(1);
                                finished->store(true);
                              }),
                              finished});
  }
}

void Communicator::serveFetch(const protocol::StateFetchPlan& plan, const PinnedRanges& pinned) {
  const auto started = Clock::now();
  const auto deadline = started + serveTime(pinned.bytes, plan.bytes_per_s, options_.timeout);
  rememberAddresses(plan);
  auto channel = p2pChannel(plan.fetcher, deadline);
  if (channel) (*channel)->setPacingRate(plan.bytes_per_s);
  std::vector<const state::Entry*> entries;
  for (const state::Entry& entry : pinned.entries)
    entries.push_back(&entry);
  StateExchange result;
  Status status =
      channel ? exchangeState(plan.fetcher, plan.sync, pinned.transfers, entries, deadline, result)
              : channel.status();
  if (channel) (*channel)->setPacingRate(0);  // the channel may carry a ring's traffic next
  const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  if (status.isOk()) {
    ECCL_LOG_INFO(
        "peer {}: served {} bytes of shared state to peer {} in {:.2f} s ({:.0f} Mbit/s, "
        "paced at {} B/s)",
        id_.shortHex(), result.bytes_sent, plan.fetcher.shortHex(), seconds,
        result.wire_sent * 8 / 1e6 / std::max(seconds, 1e-9), plan.bytes_per_s);
  } else {
    ECCL_LOG_WARN("peer {}: serving the shared state to peer {} failed after {:.2f} s: {}",
                  id_.shortHex(), plan.fetcher.shortHex(), seconds, status.toString());
  }
}

void Communicator::rememberAddresses(const protocol::StateFetchPlan& plan) {
  std::lock_guard lock(mu_);
  for (const protocol::Member& address : plan.addresses) {
    if (address.peer != id_) {
      p2p_addresses_[address.peer] =
          PeerLocation{address.peer, options_.group, 0, address.host, address.port};
    }
  }
}

void Communicator::joinFetchServers(bool all) {
  std::vector<std::thread> done;
  {
    std::lock_guard lock(fetch_servers_mu_);
    for (auto it = fetch_servers_.begin(); it != fetch_servers_.end();) {
      if (all || it->finished->load()) {
        done.push_back(std::move(it->thread));
        it = fetch_servers_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (auto& thread : done)
    thread.join();
}

void Communicator::onStateFetchPlan(const protocol::StateFetchPlan& plan) {
  if (plan.fetcher == id_ && options_.fault_hook) options_.fault_hook("fetch-plan", id_);
  std::lock_guard lock(mu_);
  if (plan.fetcher == id_) {
    // The plan of which fetch: 0 is the joiner's (connectWithState), any
    // other number one of another group's (fetchGroupState); a plan of a
    // fetch that is no longer running (given up on, its plan crossed its
    // StateFetchDone) is dropped.
    if (plan.fetch != 0) {
      if (group_fetching_ && plan.fetch == group_fetch_id_ && !group_fetch_plan_) {
        group_fetch_plan_ = plan;
        changed_.notify_all();
      } else {
        ECCL_LOG_INFO("peer {}: drops the plan of fetch {} (sync {}): not the running fetch",
                      id_.shortHex(), plan.fetch, plan.sync);
      }
    } else if (fetch_state_ && !fetch_plan_) {
      fetch_plan_ = plan;
      changed_.notify_all();
    }
    return;
  }
  // A source's order: kept until its sync's final plan (bounded: orders of
  // syncs this peer gave up on are dropped, or pushed out by newer ones).
  if (plan.sync <= abandoned_sync_) return;
  if (serve_orders_.size() >= kMaxQueuedPlans) serve_orders_.erase(serve_orders_.begin());
  serve_orders_[plan.sync].push_back(plan);
}

}  // namespace eccl::comm
