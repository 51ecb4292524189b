// The Communicator's collectives: it lends an op the ring as it stands (rank,
// revision, neighbour channels) and routes abort and membership losses to it;
// the algorithms live in src/coll/.
#include <algorithm>

#include "src/coll/ring_allreduce.h"
#include "src/comm/communicator.h"

namespace eccl::comm {

Status Communicator::ringViewLocked(coll::RingView& view) const {
  if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
  if (phase_ != Phase::kAccepted || rank_ < 0) {
    return invalidUsage("allReduce: this peer is not accepted into its group's ring yet");
  }
  if (active_op_) {
    return invalidUsage("allReduce: another collective op is running on this communicator");
  }
  if (op_failed_) {
    return invalidUsage("allReduce: the previous collective op failed (" + op_failed_->toString() +
                        "): call updateTopology before the next");
  }
  if (!departed_.empty()) {
    const auto& [peer, kind] = *departed_.begin();
    const char* what = kind == EventKind::kLeft      ? "left"
                       : kind == EventKind::kEvicted ? "was evicted"
                                                     : "was lost";
    return Status(Code::kPeerLost, "allReduce: ring member " + peer.shortHex() + " " + what +
                                       " since revision " + std::to_string(revision_) +
                                       ": call updateTopology first");
  }
  const auto n = static_cast<uint32_t>(members_.size());
  view.self = id_;
  view.rank = static_cast<uint32_t>(rank_);
  view.world_size = n;
  view.revision = revision_;
  if (n < 2) return Status::ok();
  auto neighbour = [&](uint32_t rank, coll::RingNeighbour& out) -> Status {
    out.id = members_[rank].peer;
    out.rank = rank;
    auto it = channels_.find(out.id);
    if (it == channels_.end() || !it->second->status().isOk()) {
      return connectionError("allReduce: no working channel to ring neighbour " + out.describe() +
                             " (it failed, or an earlier op failed and closed it): call "
                             "updateTopology first");
    }
    out.channel = it->second;
    return Status::ok();
  };
  ECCL_RETURN_IF_ERROR(neighbour((view.rank + n - 1) % n, view.prev));
  return neighbour((view.rank + 1) % n, view.next);
}

Status Communicator::allReduce(const void* send, void* recv, size_t count, reduce::DType dtype,
                               reduce::ReduceOp op, uint64_t tag, std::chrono::milliseconds timeout,
                               coll::OpInfo* info) {
  auto request = allReduceAsync(send, recv, count, dtype, op, tag, timeout);
  if (!request) return request.status();
  Status status = (*request)->wait();
  if (info != nullptr) *info = (*request)->info();
  return status;
}

Result<std::shared_ptr<Request>> Communicator::allReduceAsync(const void* send, void* recv,
                                                              size_t count, reduce::DType dtype,
                                                              reduce::ReduceOp op, uint64_t tag,
                                                              std::chrono::milliseconds timeout) {
  ECCL_RETURN_IF_ERROR(coll::checkAllReduceArgs({send, recv, count, dtype, op, tag}));
  return ops_.submit([=, this](coll::OpInfo* info) {
    return runAllReduce(send, recv, count, dtype, op, tag, timeout, info);
  });
}

Status Communicator::runAllReduce(const void* send, void* recv, size_t count, reduce::DType dtype,
                                  reduce::ReduceOp op, uint64_t tag,
                                  std::chrono::milliseconds timeout, coll::OpInfo* info) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const coll::AllReduceArgs args{send, recv, count, dtype, op, tag};
  ECCL_RETURN_IF_ERROR(coll::checkAllReduceArgs(args));
  coll::RingView view;
  std::shared_ptr<coll::OpState> state = coll::OpState::create();
  {
    std::lock_guard lock(mu_);
    ECCL_RETURN_IF_ERROR(ringViewLocked(view));
    active_op_ = state;
  }
  Status status = coll::ringAllReduce(view, args, options_.collectives, deadline, *state, info);
  {
    std::lock_guard lock(mu_);
    active_op_.reset();
    // Argument errors (kInvalidArgument) end an op before any message.
    if (!status.isOk() && status.code() != Code::kInvalidArgument) op_failed_ = status;
  }
  if (status.isOk()) ops_completed_.fetch_add(1);
  return status;
}

}  // namespace eccl::comm
