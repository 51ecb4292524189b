#include "tools/eccl-stress/step_checker.h"

namespace eccl::tools::stress {
namespace {

// eccl-peer's message when its exact check fails (an InternalError).
constexpr std::string_view kWrongResultMessage = "all-reduce result wrong";

}  // namespace

StepVerdict StepChecker::onLine(int peer, const nlohmann::json& line, std::string* detail) {
  if (line.value("event", "") == "state") return onStateLine(peer, line, detail);
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
  return compare(ops_, "revision", peer, revision, world_size, line.value("hash", ""),
                 counts_.parity_checks, detail);
}

StepVerdict StepChecker::onStateLine(int peer, const nlohmann::json& line, std::string* detail) {
  const auto revision = line.value("revision", uint64_t{0});
  if (!line.value("ok", false)) {
    ++counts_.failed_state_syncs;
    *detail = "state sync: " + line.value("code", std::string()) + ": " +
              line.value("error", std::string());
    return StepVerdict::kStateFailed;
  }
  ++counts_.state_syncs;
  // A state has no world size: 0 on every report.
  const StepVerdict verdict = compare(states_, "state revision", peer, revision, 0,
                                      line.value("hash", ""), counts_.state_parity_checks, detail);
  return verdict == StepVerdict::kOk ? StepVerdict::kStateOk : verdict;
}

StepVerdict StepChecker::compare(std::map<uint64_t, FirstReport>& firsts, const char* what,
                                 int peer, uint64_t revision, int world_size,
                                 const std::string& hash, uint64_t& checks, std::string* detail) {
  auto [first, inserted] = firsts.try_emplace(revision, FirstReport{peer, world_size, hash});
  if (inserted) return StepVerdict::kOk;
  ++checks;
  if (first->second.hash == hash && first->second.world_size == world_size) return StepVerdict::kOk;
  FirstReport& first_report = first->second;
  if (!first_report.disagreed) ++counts_.parity_failures;
  first_report.disagreed = true;
  *detail = std::string(what) + " " + std::to_string(revision) + ": peers disagree: peer " +
            std::to_string(peer) + " has hash " + hash + " at world " + std::to_string(world_size) +
            ", peer " + std::to_string(first_report.peer) + " had " + first_report.hash +
            " at world " + std::to_string(first_report.world_size);
  return StepVerdict::kParityFailure;
}

}  // namespace eccl::tools::stress
