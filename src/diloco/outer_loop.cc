#include "src/diloco/outer_loop.h"

#include <bit>
#include <cmath>
#include <utility>

#include "src/common/log.h"

namespace eccl::diloco {
namespace {

using Clock = std::chrono::steady_clock;

class BlockedTimer {
 public:
  explicit BlockedTimer(StepReport* report) : report_(report), start_(Clock::now()) {}
  ~BlockedTimer() {
    if (report_ != nullptr) report_->blocked += Clock::now() - start_;
  }
  BlockedTimer(const BlockedTimer&) = delete;
  BlockedTimer& operator=(const BlockedTimer&) = delete;

 private:
  StepReport* report_;
  Clock::time_point start_;
};

// lr, momentum and mode, mixed so that peers with different ones differ here.
uint64_t fingerprintOf(const OuterOptions& options) {
  const auto lr = std::bit_cast<uint32_t>(options.lr);
  const auto mu = std::bit_cast<uint32_t>(options.momentum);
  return lr * 0x9E3779B97F4A7C15ull ^ (mu + 1) * 0xC2B2AE3D27D4EB4Full ^
         (static_cast<uint64_t>(options.mode) + 1) * 0x165667B19E3779F9ull;
}

}  // namespace

OuterLoop::OuterLoop(comm::Communicator& comm, std::vector<Param> params, reduce::DType dtype,
                     OuterOptions options)
    : comm_(comm),
      options_(std::move(options)),
      state_(std::move(params), dtype),
      revision_(options_.state_revision),
      synced_fingerprint_(fingerprintOf(options_)),
      fingerprint_(synced_fingerprint_) {}

OuterLoop::~OuterLoop() {
  // The all-reduce writes into this loop's buffers until it ends (at its timeout at the latest).
  if (in_flight_) (void)in_flight_->wait();
}

Status OuterLoop::validate(const std::vector<Param>& params, reduce::DType dtype,
                           const OuterOptions& options) {
  if (!isOuterDType(dtype)) {
    return invalidArgument(std::string("DiLoCo: dtype ") + reduce::dtypeName(dtype) +
                           " is not supported (f32 or bf16)");
  }
  if (params.empty()) return invalidArgument("DiLoCo: no parameters");
  size_t total = 0;
  for (size_t i = 0; i < params.size(); ++i) {
    if (params[i].data == nullptr && params[i].count > 0) {
      return invalidArgument("DiLoCo: parameter " + std::to_string(i) + " is NULL");
    }
    total += params[i].count;
  }
  if (total == 0) return invalidArgument("DiLoCo: the parameters hold no elements");
  if (!std::isfinite(options.lr) || options.lr <= 0) {
    return invalidArgument("DiLoCo: the outer learning rate must be finite and > 0");
  }
  if (!std::isfinite(options.momentum) || options.momentum < 0 || options.momentum >= 1) {
    return invalidArgument("DiLoCo: the outer momentum must be in [0, 1)");
  }
  if (options.mode != Mode::kSync && options.mode != Mode::kAsync) {
    return invalidArgument("DiLoCo: unknown mode");
  }
  if (options.max_attempts == 0) return invalidArgument("DiLoCo: max_attempts must be >= 1");
  if (options.timeout.count() <= 0) return invalidArgument("DiLoCo: the timeout must be > 0");
  for (const state::Entry& entry : options.extra_state) {
    if (entry.name.rfind(kStatePrefix, 0) == 0) {
      return invalidArgument("DiLoCo: extra state entry '" + entry.name +
                             "' uses the loop's prefix " + kStatePrefix);
    }
  }
  return Status::ok();
}

Result<std::unique_ptr<OuterLoop>> OuterLoop::start(comm::Communicator& comm,
                                                    std::vector<Param> params, reduce::DType dtype,
                                                    OuterOptions options) {
  ECCL_RETURN_IF_ERROR(validate(params, dtype, options));
  if (comm.rank() < 0) {
    return invalidUsage("DiLoCo: the communicator is not a ring member yet (a new peer joins)");
  }
  std::unique_ptr<OuterLoop> loop(
      new OuterLoop(comm, std::move(params), dtype, std::move(options)));
  loop->members_ = loop->ringMembers();
  ECCL_RETURN_IF_ERROR(loop->checkMembersAgree().withContext("DiLoCo start"));
  // The members agree on where they start: the popular parameters win.
  ECCL_RETURN_IF_ERROR(
      loop->syncState(state::SyncStrategy::kEnforcePopular, nullptr).withContext("DiLoCo start"));
  loop->state_.adoptOuter();
  return loop;
}

Result<std::unique_ptr<OuterLoop>> OuterLoop::join(comm::Communicator& comm,
                                                   std::vector<Param> params, reduce::DType dtype,
                                                   OuterOptions options) {
  ECCL_RETURN_IF_ERROR(validate(params, dtype, options));
  std::unique_ptr<OuterLoop> loop(
      new OuterLoop(comm, std::move(params), dtype, std::move(options)));
  loop->joining_ = true;
  loop->needs_sync_ = true;
  ECCL_RETURN_IF_ERROR(comm.connect(loop->options_.timeout).withContext("DiLoCo join"));
  loop->members_ = loop->ringMembers();
  StepReport report;
  ECCL_RETURN_IF_ERROR(
      loop->settle(false, loop->options_.mode == Mode::kAsync, &report).withContext("DiLoCo join"));
  return loop;
}

std::set<EndpointId> OuterLoop::ringMembers() const {
  std::set<EndpointId> ids;
  for (const protocol::Member& member : comm_.members())
    ids.insert(member.peer);
  return ids;
}

Trailer OuterLoop::localTrailer() const {
  return Trailer{joining_ ? 0.0f : 1.0f, comm_.peersPending() > 0 ? 1.0f : 0.0f};
}

Status OuterLoop::checkMembersAgree() {
  uint64_t both[2] = {fingerprint_, ~fingerprint_};
  ECCL_RETURN_IF_ERROR(comm_.allReduce(both, both, 2, reduce::DType::kU64, reduce::ReduceOp::kMax,
                                       options_.tag, options_.timeout, nullptr));
  if (both[0] != ~both[1]) {
    return invalidUsage(
        "DiLoCo: the members' options differ (outer lr, momentum or mode): every member must "
        "start the loop with the same");
  }
  return Status::ok();
}

Status OuterLoop::step(StepReport* report) {
  return boundary(/*new_round=*/true, report);
}

Status OuterLoop::flush(StepReport* report) {
  return boundary(/*new_round=*/false, report);
}

Status OuterLoop::boundary(bool new_round, StepReport* report) {
  StepReport local;
  if (report == nullptr) report = &local;
  *report = StepReport{};
  if (broken_) return invalidUsage("DiLoCo: the loop ended with an error earlier");
  const auto started = Clock::now();
  if (new_round) {
    const uint64_t round = state_.launched();
    state_.pack(static_cast<int>(round % 2), localTrailer());
    state_.setLaunched(round + 1);
  }
  Status status = Status::ok();
  if (in_flight_) status = finishInFlight(report);
  const bool failed = !status.isOk();
  if (failed && !comm::retryableFailure(status.code())) {
    status = status.withContext("DiLoCo round " + std::to_string(state_.applied()));
  } else if (new_round) {
    status = settle(failed || admit_, options_.mode == Mode::kAsync, report);
  } else if (failed || state_.applied() < state_.launched()) {
    status = settle(failed, /*launch_last=*/false, report);
  }
  report->round = state_.launched();
  report->applied = state_.applied();
  report->state_revision = revision_;
  report->wall_time = Clock::now() - started;
  if (!status.isOk()) broken_ = true;
  return status;
}

Status OuterLoop::finishInFlight(StepReport* report) {
  std::shared_ptr<comm::Request> request = std::move(in_flight_);
  in_flight_.reset();
  Status status;
  {
    BlockedTimer timer(report);
    status = request->wait();
  }
  if (status.isOk()) apply(state_.applied(), report);
  return status;
}

Status OuterLoop::settle(bool update_first, bool launch_last, StepReport* report) {
  bool update = update_first;
  Status status = Status::ok();
  for (uint32_t attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    if (update) status = updateTopology();
    update = true;  // a retry always starts on the survivors' ring
    if (status.isOk() && needs_sync_) {
      status = syncState(
          joining_ ? state::SyncStrategy::kReceiveOnly : state::SyncStrategy::kEnforcePopular,
          report);
    }
    if (status.isOk()) status = runOutstanding(launch_last, report);
    if (status.isOk()) return status;
    if (!comm::retryableFailure(status.code())) break;
    ECCL_LOG_INFO("peer {}: DiLoCo round {} attempt {} failed ({}); retrying on the survivors",
                  comm_.peerId().shortHex(), state_.applied(), attempt, status.toString());
  }
  return status.withContext("DiLoCo round " + std::to_string(state_.applied()));
}

Status OuterLoop::updateTopology() {
  ECCL_RETURN_IF_ERROR(comm_.updateTopology(options_.timeout));
  admit_ = false;
  std::set<EndpointId> now = ringMembers();
  for (const EndpointId& id : now) {
    if (members_.count(id) == 0) needs_sync_ = true;  // a joiner: it needs the outer state
  }
  members_ = std::move(now);
  return Status::ok();
}

Status OuterLoop::syncState(state::SyncStrategy strategy, StepReport* report) {
  state::SharedState shared;
  shared.revision = joining_ ? 0 : revision_ + 1;
  shared.entries = state_.entries(kStatePrefix);
  state::Entry options;
  options.name = std::string(kStatePrefix) + "options";
  options.data = &synced_fingerprint_;
  options.count = 1;
  options.dtype = reduce::DType::kU64;
  shared.entries.push_back(std::move(options));
  shared.entries.insert(shared.entries.end(), options_.extra_state.begin(),
                        options_.extra_state.end());
  ECCL_RETURN_IF_ERROR(comm_.syncSharedState(shared, strategy, options_.timeout, nullptr));
  revision_ = shared.revision;
  needs_sync_ = false;
  if (report != nullptr) report->synced = true;
  if (joining_) {
    if (synced_fingerprint_ != fingerprint_) {
      return invalidUsage(
          "DiLoCo join: this peer's options (outer lr, momentum or mode) differ from the "
          "members'");
    }
    // The rounds in flight at the members are taken part in with no progress and no weight.
    joining_ = false;
    state_.adoptOuter();
    for (uint64_t round = state_.applied(); round < state_.launched(); ++round) {
      state_.packNothing(static_cast<int>(round % 2), Trailer{0.0f, 0.0f});
    }
  }
  return Status::ok();
}

Status OuterLoop::runOutstanding(bool launch_last, StepReport* report) {
  const size_t message = state_.count() + 2;
  while (state_.applied() < state_.launched()) {
    const uint64_t round = state_.applied();
    const int slot = static_cast<int>(round % 2);
    ++report->attempts;
    if (launch_last && round + 1 == state_.launched()) {
      auto request = comm_.allReduceAsync(state_.sendBuffer(slot), state_.recvBuffer(slot), message,
                                          state_.dtype(), reduce::ReduceOp::kSum, options_.tag,
                                          options_.timeout);
      if (!request) return request.status();
      in_flight_ = std::move(*request);
      return Status::ok();
    }
    Status status;
    {
      BlockedTimer timer(report);
      status =
          comm_.allReduce(state_.sendBuffer(slot), state_.recvBuffer(slot), message, state_.dtype(),
                          reduce::ReduceOp::kSum, options_.tag, options_.timeout, nullptr);
    }
    if (!status.isOk()) return status;
    apply(round, report);
  }
  return Status::ok();
}

void OuterLoop::apply(uint64_t round, StepReport* report) {
  const int slot = static_cast<int>(round % 2);
  const Trailer trailer = state_.receivedTrailer(slot);
  state_.applyNesterov(slot, options_.lr, options_.momentum);
  state_.setApplied(round + 1);
  // The round packed after this one (if any) is still to be applied: keep its progress.
  const int carried = state_.launched() > round + 1 ? static_cast<int>((round + 1) % 2) : -1;
  state_.rebase(carried);
  admit_ = admit_ || trailer.pending > 0;
  if (report != nullptr) report->contributors = static_cast<uint32_t>(trailer.weight);
}

}  // namespace eccl::diloco
