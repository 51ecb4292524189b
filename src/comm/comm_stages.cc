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

Status Communicator::checkStagePeerLocked(const char* caller) const {
  if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
  if (options_.stage < 0) {
    return invalidUsage(std::string(caller) + ": group '" + options_.group +
                        "' is not a pipeline stage (the comm's config has no stage)");
  }
  // The master would refuse it (and checks the same).
  if (phase_ != Phase::kAccepted) {
    return invalidUsage(std::string(caller) + ": this peer is not accepted into its group yet");
  }
  return Status::ok();
}

Result<protocol::StageInfo> Communicator::askStageAnswer(
    std::unique_lock<std::mutex>& lock, MessageType type,
    const std::function<std::vector<uint8_t>(uint64_t)>& frame, Clock::time_point deadline,
    const std::string& what) {
  const uint64_t id = ++next_stage_query_;
  stage_queries_[id];
  lock.unlock();
  sendControl(type, frame(id));
  lock.lock();
  changed_.wait_until(lock, deadline, [&] {
    return stage_queries_[id].has_value() || !terminalStatusLocked().isOk();
  });
  std::optional<protocol::StageInfo> answer = std::move(stage_queries_[id]);
  stage_queries_.erase(id);
  if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
  if (!answer) return timeoutError(what + ": the master did not answer in time");
  return std::move(*answer);
}

Status Communicator::reportMetric(uint64_t round, double value) {
  if (!std::isfinite(value) || value < 0) {
    return invalidArgument("reportMetric: the metric must be finite and >= 0, got " +
                           std::to_string(value));
  }
  {
    std::lock_guard lock(mu_);
    // A refusal by the master would surface in the next blocking call.
    ECCL_RETURN_IF_ERROR(checkStagePeerLocked("reportMetric"));
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
  return askStageAnswer(
      lock, MessageType::kStageQuery,
      [&](uint64_t id) {
        return protocol::encodeFrame(protocol::StageQuery{id, stage});
      },
      deadline, "query of pipeline stage " + std::to_string(stage));
}

Result<protocol::StageInfo> Communicator::announceStageRecovered(
    uint64_t round, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::unique_lock lock(mu_);
  ECCL_RETURN_IF_ERROR(checkStagePeerLocked("announceStageRecovered"));
  // Answered like a stage query. The master checks what was checked here (the
  // two differ only in a race with this peer's removal); its refusal, a
  // ControlError, is not waited for: the call then ends with the comm's
  // terminal error or its timeout, and the control errors that other blocking
  // calls wait for are left alone.
  return askStageAnswer(
      lock, MessageType::kStageAnnounce,
      [&](uint64_t id) {
        return protocol::encodeFrame(protocol::StageAnnounce{id, round});
      },
      deadline,
      "announcing pipeline stage " + std::to_string(options_.stage) + " recovered from round " +
          std::to_string(round));
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
  Event queued;
  queued.kind = event.kind == protocol::StageEventKind::kLost ? EventKind::kStageLost
                                                              : EventKind::kStageRestored;
  queued.stage = static_cast<int32_t>(event.stage);
  queued.revision = event.kind == protocol::StageEventKind::kRestored ? event.round : 0;
  queueEventLocked(queued);
}

}  // namespace eccl::comm
