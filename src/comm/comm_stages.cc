// Pipeline stages on the peer side (CheckFree recovery): metric reports, stage
// queries (the StageQuery/StageInfo round trip, like a peer lookup), recovery
// announcements (StageAnnounce, answered the same way) and the master's stage
// events, queued with the membership events.
#include <cmath>

#include "src/comm/communicator.h"
#include "src/protocol/messages.h"

namespace eccl::comm {

using protocol::MessageType;

Status validateStage(int32_t stage, uint32_t num_stages) {
  if (stage == -1) {
    if (num_stages == 0) return Status::ok();
    return invalidArgument("communicator: num_stages is " + std::to_string(num_stages) +
                           " without a stage (set stage 0..num_stages-1, or num_stages 0)");
  }
  if (stage < 0) {
    return invalidArgument("communicator: stage must be -1 (none) or 0..num_stages-1, got " +
                           std::to_string(stage));
  }
  if (num_stages == 0 || num_stages > protocol::kMaxStages) {
    return invalidArgument("communicator: num_stages must be 1.." +
                           std::to_string(protocol::kMaxStages) + " for stage " +
                           std::to_string(stage) + ", got " + std::to_string(num_stages));
  }
  if (static_cast<uint32_t>(stage) >= num_stages) {
    return invalidArgument("communicator: stage " + std::to_string(stage) +
                           " is outside a pipeline of " + std::to_string(num_stages) + " stages");
  }
  return Status::ok();
}

Status Communicator::reportMetric(uint64_t round, double value) {
  if (!std::isfinite(value) || value < 0) {
    return invalidArgument("reportMetric: the metric must be finite and >= 0, got " +
                           std::to_string(value));
  }
  {
    std::lock_guard lock(mu_);
    if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
    if (options_.stage < 0) {
      return invalidUsage("reportMetric: group '" + options_.group +
                          "' is not a pipeline stage (the comm's config has no stage)");
    }
    // The master would refuse it, and its refusal would surface in the next blocking call.
    if (phase_ != Phase::kAccepted) {
      return invalidUsage("reportMetric: this peer is not accepted into its group yet");
    }
  }
  sendControl(MessageType::kStageMetric,
              protocol::encodeFrame(protocol::StageMetric{round, value}));
  return Status::ok();
}

Result<protocol::StageInfo> Communicator::stageInfo(uint32_t stage,
                                                    std::chrono::milliseconds timeout) {
  if (stage >= protocol::kMaxStages) {
    return invalidArgument("stageInfo: stage " + std::to_string(stage) +
                           " is beyond the limit of " + std::to_string(protocol::kMaxStages) +
                           " stages");
  }
  const auto deadline = Clock::now() + timeout;
  std::unique_lock lock(mu_);
  if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
  if (!ever_registered_) {
    return invalidUsage("stageInfo: this peer has not connected to the master");
  }
  const uint64_t id = ++next_stage_query_;
  stage_queries_[id];
  lock.unlock();
  sendControl(MessageType::kStageQuery, protocol::encodeFrame(protocol::StageQuery{id, stage}));
  lock.lock();
  const bool answered = changed_.wait_until(lock, deadline, [&] {
    return stage_queries_[id].has_value() || !terminalStatusLocked().isOk();
  });
  std::optional<protocol::StageInfo> answer = std::move(stage_queries_[id]);
  stage_queries_.erase(id);
  if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
  if (!answered || !answer) {
    return timeoutError("query of pipeline stage " + std::to_string(stage) +
                        ": the master did not answer in time");
  }
  return std::move(*answer);
}

Result<protocol::StageInfo> Communicator::announceStageRecovered(
    uint64_t round, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
  if (options_.stage < 0) {
    return invalidUsage("announceStageRecovered: group '" + options_.group +
                        "' is not a pipeline stage (the comm's config has no stage)");
  }
  if (phase_ != Phase::kAccepted) {
    return invalidUsage("announceStageRecovered: this peer is not accepted into its group yet");
  }
  // Numbered and answered like a stage query. The master checks what was
  // checked here (the two differ only in a race with this peer's removal);
  // its refusal, a ControlError, is not waited for: the call then ends with
  // the comm's terminal error or its timeout, and the control errors that
  // other blocking calls wait for are left alone.
  const uint64_t id = ++next_stage_query_;
  stage_queries_[id];
  const auto deadline = Clock::now() + timeout;
  lock.unlock();
  sendControl(MessageType::kStageAnnounce,
              protocol::encodeFrame(protocol::StageAnnounce{id, round}));
  lock.lock();
  changed_.wait_until(lock, deadline, [&] {
    return stage_queries_[id].has_value() || !terminalStatusLocked().isOk();
  });
  std::optional<protocol::StageInfo> answer = std::move(stage_queries_[id]);
  stage_queries_.erase(id);
  if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
  if (!answer) {
    return timeoutError("announcing pipeline stage " + std::to_string(options_.stage) +
                        " recovered from round " + std::to_string(round) +
                        ": the master did not answer in time");
  }
  return std::move(*answer);
}

void Communicator::onStageInfo(const protocol::StageInfo& info) {
  std::lock_guard lock(mu_);
  auto it = stage_queries_.find(info.request);
  if (it == stage_queries_.end() || it->second) return;  // stale: its asker gave up
  it->second = info;
  changed_.notify_all();
}

void Communicator::onStageEvent(const protocol::StageEvent& event) {
  std::lock_guard lock(mu_);
  if (events_.size() >= kMaxQueuedEvents) {
    events_.pop_front();
    ++events_dropped_;
  }
  Event queued;
  queued.kind = event.kind == protocol::StageEventKind::kLost ? EventKind::kStageLost
                                                              : EventKind::kStageRestored;
  queued.stage = static_cast<int32_t>(event.stage);
  queued.revision = event.kind == protocol::StageEventKind::kRestored ? event.round : 0;
  events_.push_back(queued);
  changed_.notify_all();
}

}  // namespace eccl::comm
