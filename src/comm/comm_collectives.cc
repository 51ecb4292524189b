// The Communicator's collectives: it lends an op the ring as it stands (rank,
// revision, neighbour channels) and routes abort and membership losses to it;
// the algorithms live in src/coll/.
#include <algorithm>
#include <cstring>
#include <limits>
#include <optional>

#include "src/anomaly/flight_recorder.h"
#include "src/coll/block_counts.h"
#include "src/coll/completion_lap.h"
#include "src/coll/ring_all_gather.h"
#include "src/coll/ring_allreduce.h"
#include "src/coll/ring_broadcast.h"
#include "src/coll/ring_reduce_scatter.h"
#include "src/comm/communicator.h"
#include "src/common/log.h"
#include "src/protocol/messages.h"

namespace eccl::comm {

Status Communicator::ringViewLocked(const std::string& name, coll::RingView& view) const {
  if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
  if (phase_ != Phase::kAccepted || rank_ < 0) {
    return invalidUsage(name + ": this peer is not accepted into its group's ring yet");
  }
  if (op_failed_) {
    return invalidUsage(name + ": the previous collective op failed (" + op_failed_->toString() +
                        "): call updateTopology before the next");
  }
  if (!departed_.empty()) {
    const auto& [peer, kind] = *departed_.begin();
    const char* what = kind == EventKind::kLeft      ? "left"
                       : kind == EventKind::kEvicted ? "was evicted"
                                                     : "was lost";
    return Status(Code::kPeerLost, name + ": ring member " + peer.shortHex() + " " + what +
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
      return connectionError(name + ": no working channel to ring neighbour " + out.describe() +
                             " (it failed, or an earlier op failed and closed it): call "
                             "updateTopology first");
    }
    out.channel = it->second;
    return Status::ok();
  };
  ECCL_RETURN_IF_ERROR(neighbour((view.rank + n - 1) % n, view.prev));
  return neighbour((view.rank + 1) % n, view.next);
}

std::vector<std::shared_ptr<transport::Channel>> Communicator::ringChannelsLocked() const {
  std::vector<std::shared_ptr<transport::Channel>> open;
  const auto n = static_cast<uint32_t>(members_.size());
  if (rank_ < 0 || n < 2) return open;
  const auto rank = static_cast<uint32_t>(rank_);
  for (uint32_t neighbour : {(rank + n - 1) % n, (rank + 1) % n}) {
    auto it = channels_.find(members_[neighbour].peer);
    if (it != channels_.end() && it->second->status().isOk()) open.push_back(it->second);
  }
  return open;
}

void Communicator::closeChannels(const std::vector<std::shared_ptr<transport::Channel>>& channels,
                                 const std::string& why) {
  for (const auto& channel : channels)
    channel->close(why);
}

// ---- Running ops -----------------------------------------------------------------------

namespace {

// The batch's send buffers back to back, and the result back into its receive buffers.
std::vector<uint8_t> pack(const std::vector<TensorRef>& tensors, size_t total,
                          reduce::DType dtype) {
  const size_t element = reduce::dtypeSize(dtype);
  std::vector<uint8_t> packed(total * element);
  uint8_t* at = packed.data();
  for (const TensorRef& t : tensors) {
    if (t.count > 0) std::memcpy(at, t.send, t.count * element);
    at += t.count * element;
  }
  return packed;
}

void unpack(const std::vector<uint8_t>& packed, const std::vector<TensorRef>& tensors,
            reduce::DType dtype) {
  const size_t element = reduce::dtypeSize(dtype);
  const uint8_t* at = packed.data();
  for (const TensorRef& t : tensors) {
    if (t.count > 0) std::memcpy(t.recv, at, t.count * element);
    at += t.count * element;
  }
}

// An all-reduce's arguments; `quant` (null: none) is copied in.
coll::AllReduceArgs allReduceArgs(const void* send, void* recv, size_t count, reduce::DType dtype,
                                  reduce::ReduceOp op, uint64_t tag,
                                  const quant::QuantConfig* quant) {
  coll::AllReduceArgs args{send, recv, count, dtype, op, tag};
  if (quant != nullptr) args.quant = *quant;
  return args;
}

}  // namespace

std::vector<size_t> BlockCounts::resolve(uint32_t world_size) const {
  return per_rank.empty() ? coll::equalCounts(world_size, each) : per_rank;
}

Result<std::shared_ptr<Request>> Communicator::submitRingOp(std::string name, uint64_t tag,
                                                            std::chrono::milliseconds timeout,
                                                            RingJob job,
                                                            std::span<uint8_t> preserve) {
  if (timeout.count() < 0) return invalidArgument(name + ": negative timeout");
  // The recorder follows the op from here; an op the queue drops unstarted
  // (a stop) is ended by the guard the job holds.
  struct EndUnstarted {
    EndUnstarted(anomaly::FlightRecorder& r, std::shared_ptr<anomaly::FlightRecorder::Entry> e)
        : recorder(r), entry(std::move(e)) {}
    ~EndUnstarted() { recorder.ended(*entry, abortedError("it never started")); }
    anomaly::FlightRecorder& recorder;
    std::shared_ptr<anomaly::FlightRecorder::Entry> entry;
  };
  auto recorded = std::make_shared<EndUnstarted>(recorder_, recorder_.submitted(name, tag));
  return ops_.submit(
      [this, name = std::move(name), tag, timeout, job = std::move(job), preserve,
       recorded = std::move(recorded)](coll::OpInfo* info, uint64_t sequence) {
        anomaly::FlightRecorder::Entry& entry = *recorded->entry;
        recorder_.started(entry, sequence);
        coll::OpInfo local;
        coll::OpInfo* report = info != nullptr ? info : &local;
        Status status = runRingOp(name, tag, timeout, job, report, sequence, preserve, entry);
        header_turns_.done(sequence);  // if the op ended before its headers did
        recorder_.ended(entry, status, report->bytes_sent, report->bytes_received);
        if (status.code() == Code::kTimeout) logState(name + " timed out");
        return status;
      },
      JobTraits{.tag = tag});
}

void Communicator::failActiveOpsLocked(const Status& why) {
  for (const auto& op : active_ops_)
    op.state->fail(why);
}

void Communicator::failAllOpsLocked(const Status& why) {
  failActiveOpsLocked(why);
  failP2pOpsLocked(nullptr, why);
}

Status Communicator::runRingOp(const std::string& name, uint64_t tag,
                               std::chrono::milliseconds timeout, const RingJob& job,
                               coll::OpInfo* info, uint64_t sequence, std::span<uint8_t> preserve,
                               anomaly::FlightRecorder::Entry& recorded) {
  const auto deadline = Clock::now() + timeout;
  coll::RingView view;
  std::shared_ptr<coll::OpState> state = coll::OpState::create();
  protocol::OpRef ref;
  Status viewed;
  std::vector<std::shared_ptr<transport::Channel>> still_open;
  {
    std::lock_guard lock(mu_);
    viewed = ringViewLocked(name, view);
    if (viewed.code() == Code::kConnectionError) still_open = ringChannelsLocked();
    if (viewed.isOk()) {
      ref = {revision_, tag, static_cast<uint32_t>(sequence - first_sequence_)};
      if (!outcomes_.begin(ref)) {
        Status doomed = doomedOpError(name, "before it started here");
        op_failed_ = doomed;
        return doomed;
      }
      active_ops_.push_back({ref, state});
    }
  }
  if (!viewed.isOk()) {
    // A neighbour's channel is gone, so this op fails here before it sends a
    // byte; the other neighbour would wait for it until its deadline. Closing
    // this peer's other ring channels fails their ops at once, as any failed
    // op does, and every member reaches the next update together.
    closeChannels(still_open,
                  name + " failed on peer " + id_.shortHex() + ": " + viewed.toString());
    return viewed;
  }
  view.header_turns = &header_turns_;
  view.ticket = sequence;
  view.progress = &recorded.progress;
  recorder_.ranOn(recorded, view.revision, static_cast<int32_t>(view.rank), view.world_size,
                  view.prev.id, view.next.id);
  const std::vector<uint8_t> saved(preserve.begin(), preserve.end());
  coll::OpInfo* report = info;
  Status status = job(view, *state, deadline, report);
  const bool exchanged = report->bytes_sent > 0 || report->bytes_received > 0;
  if (status.isOk() && exchanged) {
    recorded.progress.setPhase(coll::OpPhase::kCompletion);
    const auto lap_started = Clock::now();
    status = agreeOnOutcome(name, view, ref, *state, deadline);
    report->wall_time += Clock::now() - lap_started;
  }
  if (!status.isOk() && !saved.empty()) std::memcpy(preserve.data(), saved.data(), saved.size());
  {
    std::lock_guard lock(mu_);
    std::erase_if(active_ops_, [&](const RingOpInProgress& op) { return op.state == state; });
    // An abort closes the channels under the ops it ends, so an op may see its
    // channel fail (kPeerLost) before it sees the abort: the caller asked for it.
    if (!status.isOk() && phase_ == Phase::kAborted) status = terminal_;
    if (!status.isOk()) outcomes_.failed(ref);
    if (view.world_size > 1) {
      link_late_ns_[view.prev.id] += recorded.progress.late_prev_ns.load(std::memory_order_relaxed);
      link_late_ns_[view.next.id] += recorded.progress.late_next_ns.load(std::memory_order_relaxed);
    }
    // Argument errors (kInvalidArgument) end an op before any message.
    if (!status.isOk() && status.code() != Code::kInvalidArgument) op_failed_ = status;
  }
  (status.isOk() ? ops_completed_ : ops_failed_).fetch_add(1);
  return status;
}

Status Communicator::agreeOnOutcome(const std::string& name, const coll::RingView& view,
                                    const protocol::OpRef& ref, coll::OpState& state,
                                    Clock::time_point deadline) {
  if (options_.fault_hook) options_.fault_hook("data-complete", id_);
  {
    std::lock_guard lock(mu_);
    if (!outcomes_.complete(ref)) {
      return doomedOpError(name, "while its data was arriving here");
    }
  }
  if (options_.fault_hook) options_.fault_hook("lap-start", id_);
  const coll::OpKey key{view.revision, ref.tag, 0};
  Status lap = coll::runCompletionLap(view, key, state, deadline, name);
  if (lap.isOk()) {
    std::lock_guard lock(mu_);
    outcomes_.succeeded(ref);
    return Status::ok();
  }
  // An abort ends this communicator: it is no survivor, and has nothing to agree on.
  if (lap.code() == Code::kAborted) return lap;
  return awaitVerdict(name, ref, lap, deadline);
}

Status Communicator::awaitVerdict(const std::string& name, const protocol::OpRef& ref,
                                  const Status& why, Clock::time_point deadline) {
  // The master decides once every other member answered or departed: within
  // its loss detection of a hung member. Wait at least that long past the deadline.
  std::unique_lock lock(mu_);
  const auto until =
      std::max(deadline, Clock::now() + 2 * loss_detection_ + std::chrono::seconds(2));
  const auto report =
      protocol::encodeFrame(protocol::OpReport{ref, protocol::OpProgress::kComplete});
  while (true) {
    lock.unlock();
    // Again every second: a restarted master forgot the question.
    sendControl(protocol::MessageType::kOpReport, report);
    lock.lock();
    const auto resend = std::min(until, Clock::now() + std::chrono::seconds(1));
    changed_.wait_until(lock, resend, [&] {
      return outcomes_.verdict(ref).has_value() || !terminalStatusLocked().isOk();
    });
    if (std::optional<bool> verdict = outcomes_.verdict(ref)) {
      if (*verdict) {
        outcomes_.succeeded(ref);
        return Status::ok();
      }
      return Status(Code::kPeerLost,
                    name + ": failed on every survivor (agreed through the " +
                        "master; this peer's data was complete): " + why.toString());
    }
    if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
    if (Clock::now() >= until) {
      return timeoutError(name + ": its data is complete here, but the survivors could not " +
                          "agree on its outcome (no verdict from the master in time; it may " +
                          "have succeeded on other peers): " + why.toString());
    }
  }
}

// ---- The collectives ------------------------------------------------------------------

Status Communicator::runAllReduce(const coll::RingView& view, const coll::AllReduceArgs& args,
                                  coll::OpState& state, Clock::time_point deadline,
                                  coll::OpInfo* info) {
  const size_t bytes = args.count * reduce::dtypeSize(args.dtype);
  // Recursive doubling would re-quantize at every exchange on every peer;
  // quantized ops take the ring, whose result is one set of bytes everywhere.
  if (view.world_size > 1 && bytes <= options_.collectives.small_allreduce_bytes &&
      !args.quantized()) {
    return runSmallAllReduce(view, args, state, deadline, info);
  }
  return coll::ringAllReduce(view, args, options_.collectives, deadline, state, info);
}

Result<std::shared_ptr<Request>> Communicator::allReduceAsync(const void* send, void* recv,
                                                              size_t count, reduce::DType dtype,
                                                              reduce::ReduceOp op, uint64_t tag,
                                                              std::chrono::milliseconds timeout,
                                                              const quant::QuantConfig* quant) {
  const coll::AllReduceArgs args = allReduceArgs(send, recv, count, dtype, op, tag, quant);
  ECCL_RETURN_IF_ERROR(coll::checkAllReduceArgs(args));
  std::span<uint8_t> preserve;
  if (options_.collectives.preserve_input && send == recv) {
    preserve = {static_cast<uint8_t*>(recv), count * reduce::dtypeSize(dtype)};
  }
  return submitRingOp(
      "allReduce", tag, timeout,
      [this, args](const coll::RingView& view, coll::OpState& state, Clock::time_point deadline,
                   coll::OpInfo* info) { return runAllReduce(view, args, state, deadline, info); },
      preserve);
}

Status Communicator::allReduce(const void* send, void* recv, size_t count, reduce::DType dtype,
                               reduce::ReduceOp op, uint64_t tag, std::chrono::milliseconds timeout,
                               coll::OpInfo* info, const quant::QuantConfig* quant) {
  return waitForRequest(allReduceAsync(send, recv, count, dtype, op, tag, timeout, quant), info);
}

bool retryableFailure(Code code) {
  return code == Code::kPeerLost || code == Code::kTimeout || code == Code::kConnectionError;
}

Status Communicator::allReduceWithRetry(const void* send, void* recv, size_t count,
                                        reduce::DType dtype, reduce::ReduceOp op, uint64_t tag,
                                        std::chrono::milliseconds timeout, uint32_t max_attempts,
                                        coll::OpInfo* info, uint32_t* attempts,
                                        const quant::QuantConfig* quant) {
  if (attempts != nullptr) *attempts = 0;
  if (max_attempts == 0) return invalidArgument("allReduceWithRetry: max_attempts must be >= 1");
  ECCL_RETURN_IF_ERROR(
      coll::checkAllReduceArgs(allReduceArgs(send, recv, count, dtype, op, tag, quant)));
  // In place, the input is restored before each retry (by the op itself with preserve_input).
  std::vector<uint8_t> input;
  if (send == recv && !options_.collectives.preserve_input) {
    const auto* bytes = static_cast<const uint8_t*>(send);
    input.assign(bytes, bytes + count * reduce::dtypeSize(dtype));
  }
  for (uint32_t attempt = 1;; ++attempt) {
    if (attempts != nullptr) *attempts = attempt;
    Status status = allReduce(send, recv, count, dtype, op, tag, timeout, info, quant);
    if (status.isOk() || attempt == max_attempts || !retryableFailure(status.code())) {
      return attempt == 1 || status.isOk()
                 ? status
                 : status.withContext("allReduceWithRetry: attempt " + std::to_string(attempt) +
                                      " of " + std::to_string(max_attempts));
    }
    if (!input.empty()) std::memcpy(recv, input.data(), input.size());
    ECCL_LOG_INFO("peer {}: allReduce (tag {}) attempt {} failed ({}); updating the topology",
                  id_.shortHex(), tag, attempt, status.toString());
    if (Status updated = updateTopology(timeout); !updated.isOk()) {
      return updated.withContext("allReduceWithRetry: the topology update after attempt " +
                                 std::to_string(attempt) +
                                 " failed (that attempt: " + status.toString() + ")");
    }
  }
}

Result<std::shared_ptr<Request>> Communicator::broadcastAsync(void* buffer, size_t count,
                                                              reduce::DType dtype, uint32_t root,
                                                              uint64_t tag,
                                                              std::chrono::milliseconds timeout) {
  const coll::BroadcastArgs args{buffer, count, dtype, root, tag};
  // The root is checked against the ring the op runs on.
  ECCL_RETURN_IF_ERROR(coll::checkBroadcastArgs(args, std::max<uint32_t>(root + 1, 1)));
  return submitRingOp("broadcast", tag, timeout,
                      [this, args](const coll::RingView& view, coll::OpState& state,
                                   Clock::time_point deadline, coll::OpInfo* info) {
                        return coll::ringBroadcast(view, args, options_.collectives, deadline,
                                                   state, info);
                      });
}

Status Communicator::broadcast(void* buffer, size_t count, reduce::DType dtype, uint32_t root,
                               uint64_t tag, std::chrono::milliseconds timeout,
                               coll::OpInfo* info) {
  return waitForRequest(broadcastAsync(buffer, count, dtype, root, tag, timeout), info);
}

Result<std::shared_ptr<Request>> Communicator::allGatherAsync(const void* send, void* recv,
                                                              BlockCounts counts,
                                                              reduce::DType dtype, uint64_t tag,
                                                              std::chrono::milliseconds timeout) {
  return submitRingOp("allGather", tag, timeout,
                      [this, send, recv, counts = std::move(counts), dtype, tag](
                          const coll::RingView& view, coll::OpState& state,
                          Clock::time_point deadline, coll::OpInfo* info) {
                        const std::vector<size_t> blocks = counts.resolve(view.world_size);
                        const coll::AllGatherArgs args{send, recv, blocks, dtype, tag};
                        return coll::ringAllGatherV(view, args, options_.collectives, deadline,
                                                    state, info);
                      });
}

Status Communicator::allGather(const void* send, void* recv, BlockCounts counts,
                               reduce::DType dtype, uint64_t tag, std::chrono::milliseconds timeout,
                               coll::OpInfo* info) {
  return waitForRequest(allGatherAsync(send, recv, std::move(counts), dtype, tag, timeout), info);
}

Result<std::shared_ptr<Request>> Communicator::reduceScatterAsync(
    const void* send, void* recv, BlockCounts counts, reduce::DType dtype, reduce::ReduceOp op,
    uint64_t tag, std::chrono::milliseconds timeout) {
  return submitRingOp("reduceScatter", tag, timeout,
                      [this, send, recv, counts = std::move(counts), dtype, op, tag](
                          const coll::RingView& view, coll::OpState& state,
                          Clock::time_point deadline, coll::OpInfo* info) {
                        const std::vector<size_t> blocks = counts.resolve(view.world_size);
                        const coll::ReduceScatterArgs args{send, recv, blocks, dtype, op, tag};
                        return coll::ringReduceScatterV(view, args, options_.collectives, deadline,
                                                        state, info);
                      });
}

Status Communicator::reduceScatter(const void* send, void* recv, BlockCounts counts,
                                   reduce::DType dtype, reduce::ReduceOp op, uint64_t tag,
                                   std::chrono::milliseconds timeout, coll::OpInfo* info) {
  return waitForRequest(reduceScatterAsync(send, recv, std::move(counts), dtype, op, tag, timeout),
                        info);
}

Result<std::shared_ptr<Request>> Communicator::allReduceBatchAsync(
    std::vector<TensorRef> tensors, reduce::DType dtype, reduce::ReduceOp op, uint64_t tag,
    std::chrono::milliseconds timeout, const quant::QuantConfig* quant) {
  // The batch is one op: one quantization config for the whole stream.
  std::optional<quant::QuantConfig> config;
  if (quant != nullptr) config = *quant;
  auto argsFor = [=](const void* send, void* recv, size_t count) {
    return allReduceArgs(send, recv, count, dtype, op, tag, config ? &*config : nullptr);
  };
  size_t total = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const TensorRef& t = tensors[i];
    Status valid = coll::checkAllReduceArgs(argsFor(t.send, t.recv, t.count));
    if (!valid.isOk()) {
      return Status(valid.code(),
                    "allReduceBatch: tensor " + std::to_string(i) + ": " + valid.message());
    }
    if (t.count > std::numeric_limits<size_t>::max() / reduce::dtypeSize(dtype) - total) {
      return invalidArgument("allReduceBatch: the tensors' total size overflows");
    }
    total += t.count;
  }
  return submitRingOp(
      "allReduceBatch", tag, timeout,
      [this, tensors = std::move(tensors), total, dtype, argsFor](
          const coll::RingView& view, coll::OpState& state, Clock::time_point deadline,
          coll::OpInfo* info) -> Status {
        if (tensors.size() == 1) {
          const TensorRef& t = tensors.front();
          return runAllReduce(view, argsFor(t.send, t.recv, t.count), state, deadline, info);
        }
        std::vector<uint8_t> packed = pack(tensors, total, dtype);
        ECCL_RETURN_IF_ERROR(runAllReduce(view, argsFor(packed.data(), packed.data(), total), state,
                                          deadline, info));
        unpack(packed, tensors, dtype);
        return Status::ok();
      });
}

Status Communicator::allReduceBatch(std::vector<TensorRef> tensors, reduce::DType dtype,
                                    reduce::ReduceOp op, uint64_t tag,
                                    std::chrono::milliseconds timeout, coll::OpInfo* info,
                                    const quant::QuantConfig* quant) {
  return waitForRequest(allReduceBatchAsync(std::move(tensors), dtype, op, tag, timeout, quant),
                        info);
}

Status Communicator::barrier(uint64_t tag, std::chrono::milliseconds timeout, coll::OpInfo* info) {
  // An all-reduce completes on a peer only after every peer has contributed.
  // The call waits for the op, so the byte may live on its stack.
  uint8_t token = 1;
  const coll::AllReduceArgs args{&token, &token, 1, reduce::DType::kU8, reduce::ReduceOp::kMax,
                                 tag};
  ECCL_RETURN_IF_ERROR(coll::checkAllReduceArgs(args));
  return waitForRequest(
      submitRingOp("barrier", tag, timeout,
                   [this, args](const coll::RingView& view, coll::OpState& state,
                                Clock::time_point deadline, coll::OpInfo* op_info) {
                     return runAllReduce(view, args, state, deadline, op_info);
                   }),
      info);
}

}  // namespace eccl::comm
