#include "tools/eccl-stress/step_checker.h"

namespace eccl::tools::stress {
namespace {

// eccl-peer's message when its exact check fails (an InternalError).
constexpr std::string_view kWrongResultMessage = "all-reduce result wrong";

}  // namespace

StepVerdict StepChecker::onLine(int peer, const nlohmann::json& line, std::string* detail) {
  if (line.value("event", "") != "step") return StepVerdict::kNotAStep;
  const auto revision = line.value("revision", uint64_t{0});
  const int world_size = line.value("world_size", 0);
  if (!line.value("ok", false)) {
    const std::string code = line.value("code", "");
    const std::string error = line.value("error", "");
    *detail = "revision " + std::to_string(revision) + ": " + code + ": " + error;
    if (error.starts_with(kWrongResultMessage)) {
      ++counts_.wrong_results;
      return StepVerdict::kWrongResult;
    }
    ++counts_.failed_steps;
    ++counts_.failures_by_code[code];
    return StepVerdict::kFailed;
  }
  ++counts_.ok_steps;
  const std::string hash = line.value("hash", "");
  auto [first, inserted] = ops_.try_emplace(revision, FirstReport{peer, world_size, hash});
  if (inserted) return StepVerdict::kOk;
  ++counts_.parity_checks;
  if (first->second.hash == hash && first->second.world_size == world_size) return StepVerdict::kOk;
  FirstReport& first_report = first->second;
  if (!first_report.disagreed) ++counts_.parity_failures;
  first_report.disagreed = true;
  *detail = "revision " + std::to_string(revision) + ": peers disagree: peer " +
            std::to_string(peer) + " has hash " + hash + " at world " + std::to_string(world_size) +
            ", peer " + std::to_string(first_report.peer) + " had " + first_report.hash +
            " at world " + std::to_string(first_report.world_size);
  return StepVerdict::kParityFailure;
}

}  // namespace eccl::tools::stress
