// eccl-stress: its schedule and checks on hand-made input, then the tool
// itself as a process: a short seeded soak passes with kills, hangs and joins,
// a peer that pauses longer between its steps is found a straggler, and a
// peer that corrupts its result once (a hidden flag) fails the soak with a
// parity failure.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/multiprocess/cluster_processes.h"
#include "tests/support/test_env.h"
#include "tools/common/child_process.h"
#include "tools/eccl-stress/fault_schedule.h"
#include "tools/eccl-stress/master_findings.h"
#include "tools/eccl-stress/step_checker.h"

namespace eccl::test {
namespace {

using namespace std::chrono_literals;
using tools::ChildOutput;
using tools::ChildProcess;
using tools::stress::FaultKind;
using tools::stress::FaultRates;
using tools::stress::makeSchedule;
using tools::stress::StepChecker;
using tools::stress::StepVerdict;
using Json = nlohmann::json;

Json stepLine(uint64_t revision, int world, const std::string& hash) {
  return {{"event", "step"},
          {"revision", revision},
          {"world_size", world},
          {"ok", true},
          {"hash", hash}};
}

TEST(StressSchedule, SameSeedSameFaults) {
  const FaultRates rates{.kill = 0.5, .hang = 0.25, .join = 1, .leave = 0.25};
  const auto first = makeSchedule(7, rates, 60s);
  const auto again = makeSchedule(7, rates, 60s);
  ASSERT_EQ(first.size(), again.size());
  for (size_t i = 0; i < first.size(); ++i) {
    EXPECT_EQ(first[i].at, again[i].at);
    EXPECT_EQ(first[i].kind, again[i].kind);
    EXPECT_EQ(first[i].pick, again[i].pick);
    EXPECT_EQ(first[i].hold, again[i].hold);
    if (i > 0) {
      EXPECT_LE(first[i - 1].at, first[i].at);
    }
  }
  // About rate x duration of each kind (Poisson: 60 joins expected, sd ~8).
  const auto joins = std::count_if(first.begin(), first.end(),
                                   [](const auto& f) { return f.kind == FaultKind::kJoin; });
  EXPECT_GT(joins, 30);
  EXPECT_LT(joins, 90);
  // Another kind's rate does not move the kills.
  auto kills = [](const auto& schedule) {
    std::vector<std::chrono::milliseconds> at;
    for (const auto& fault : schedule)
      if (fault.kind == FaultKind::kKill) at.push_back(fault.at);
    return at;
  };
  EXPECT_EQ(kills(first), kills(makeSchedule(7, {.kill = 0.5}, 60s)));
  EXPECT_NE(kills(first), kills(makeSchedule(8, rates, 60s)));
}

TEST(StressChecker, ParityWrongResultsAndFailedSteps) {
  StepChecker checker;
  std::string detail;
  EXPECT_EQ(checker.onLine(0, {{"event", "admitted"}}, &detail), StepVerdict::kNotAStep);
  EXPECT_EQ(checker.onLine(0, stepLine(5, 3, "aa"), &detail), StepVerdict::kOk);
  EXPECT_EQ(checker.onLine(1, stepLine(5, 3, "aa"), &detail), StepVerdict::kOk);
  EXPECT_EQ(checker.onLine(2, stepLine(5, 3, "bb"), &detail), StepVerdict::kParityFailure);
  EXPECT_NE(detail.find("revision 5"), std::string::npos) << detail;
  // The same op at another world size is a disagreement too; the op counts once.
  EXPECT_EQ(checker.onLine(3, stepLine(5, 4, "aa"), &detail), StepVerdict::kParityFailure);
  EXPECT_EQ(checker.onLine(0, stepLine(6, 3, "cc"), &detail), StepVerdict::kOk);
  Json failed = {{"event", "step"}, {"revision", 7},      {"world_size", 3},
                 {"ok", false},     {"code", "PeerLost"}, {"error", "peer ab was lost"}};
  EXPECT_EQ(checker.onLine(0, failed, &detail), StepVerdict::kFailed);
  failed["code"] = "InternalError";
  failed["error"] = "all-reduce result wrong at element 3: 5.000000 instead of 6.000000";
  EXPECT_EQ(checker.onLine(1, failed, &detail), StepVerdict::kWrongResult);

  const auto& counts = checker.counts();
  EXPECT_EQ(counts.ok_steps, 5u);
  EXPECT_EQ(counts.parity_checks, 3u);
  EXPECT_EQ(counts.parity_failures, 1u);
  EXPECT_EQ(counts.failed_steps, 1u);
  EXPECT_EQ(counts.failures_by_code.at("PeerLost"), 1u);
  EXPECT_EQ(counts.wrong_results, 1u);
  EXPECT_EQ(checker.opsCompleted(), 2u);
}

// Runs eccl-stress to the end: its exit status and its last line as JSON.
struct StressRun {
  int wait_status = -1;
  Json summary;
  std::string output;
};

StressRun runStress(const TempDir& logs, std::vector<std::string> args,
                    std::chrono::milliseconds timeout) {
  args.insert(args.begin(), ECCL_STRESS_BIN);
  args.insert(args.end(), {"--json", "--logs", logs.path()});
  StressRun run;
  auto child = ChildProcess::spawn({.argv = args, .stdout_to = ChildOutput::kPipe});
  EXPECT_TRUE(child) << child.status().toString();
  if (!child) return run;
  auto output = (*child)->readAll(timeout);
  EXPECT_TRUE(output) << "eccl-stress did not finish: " << output.status().toString();
  if (!output) return run;
  run.output = *output;
  auto exited = (*child)->wait(deadline(10s));
  EXPECT_TRUE(exited);
  if (exited) run.wait_status = *exited;
  const size_t last_start = run.output.rfind('\n', run.output.size() - 2);
  run.summary = Json::parse(run.output.substr(last_start == std::string::npos ? 0 : last_start + 1),
                            nullptr, /*allow_exceptions=*/false);
  EXPECT_TRUE(run.summary.is_object()) << "the last line is no JSON object:\n" << run.output;
  return run;
}

Json stateLine(uint64_t revision, bool ok, const std::string& hash) {
  Json line{{"event", "state"}, {"revision", revision}, {"ok", ok}};
  if (ok) {
    line["hash"] = hash;
  } else {
    line["code"] = "PeerLost";
    line["error"] = "a member was lost";
  }
  return line;
}

TEST(StressChecker, StateSyncsAreComparedByStateRevision) {
  StepChecker checker;
  std::string detail;
  EXPECT_EQ(checker.onLine(0, stateLine(4, true, "s4"), &detail), StepVerdict::kStateOk);
  EXPECT_EQ(checker.onLine(1, stateLine(4, true, "s4"), &detail), StepVerdict::kStateOk);
  EXPECT_EQ(checker.onLine(2, stateLine(4, true, "xx"), &detail), StepVerdict::kParityFailure);
  EXPECT_NE(detail.find("state revision 4: peers disagree"), std::string::npos) << detail;
  EXPECT_EQ(checker.onLine(0, stateLine(5, false, ""), &detail), StepVerdict::kStateFailed);
  // A step line at the same number is another namespace: no parity with states.
  EXPECT_EQ(checker.onLine(0, stepLine(4, 3, "s5"), &detail), StepVerdict::kOk);
  const auto& counts = checker.counts();
  EXPECT_EQ(counts.state_syncs, 3u);
  EXPECT_EQ(counts.state_parity_checks, 2u);
  EXPECT_EQ(counts.failed_state_syncs, 1u);
  EXPECT_EQ(counts.parity_failures, 1u);
  EXPECT_EQ(counts.ok_steps, 1u);
  EXPECT_EQ(checker.stateRevisions(), 1u);
  EXPECT_EQ(checker.opsCompleted(), 1u);
}

TEST(StressFindings, TheMastersAnomalyLinesAreCountedByKindWithTheFirstTime) {
  const std::string log =
      "[23:59:58.250] [eccl 41] [warning] anomaly slow_link: link 0a0b0c0d -> 01020304 of group "
      "\"g\" is slow: ...\n"
      "[23:59:58.300] [eccl 41] [warning] anomaly: evicting peer 0a0b0c0d (slow_node)\n"
      "[23:59:59.000] [eccl 41] [info] a line that quotes anomaly slow_link: in passing\n"
      "[00:00:01.500] [eccl 41] [warning] anomaly slow_link: link 01020304 -> 0a0b0c0d ...\n"
      "[00:00:02.125] [eccl 41] [warning] anomaly hung_peer: peer 01020304 ... is hung\n"
      "[00:00:03.000] [eccl 41] [warning] anomaly slow_linkage: not a kind\n"
      "garbage without a time] anomaly straggler: counted, with no time\n";
  const tools::stress::MasterFindings found = tools::stress::parseMasterFindings(log);
  EXPECT_EQ(found.count, (std::map<std::string, uint64_t>{
                             {"hung_peer", 1}, {"slow_link", 2}, {"straggler", 1}}));
  EXPECT_DOUBLE_EQ(found.first_at.at("slow_link"), 23 * 3600 + 59 * 60 + 58.25);
  EXPECT_DOUBLE_EQ(found.first_at.at("hung_peer"), 2.125);
  EXPECT_EQ(found.first_at.at("straggler"), -1);
  EXPECT_TRUE(tools::stress::parseMasterFindings("").count.empty());
}

TEST(StressProcess, ShortSoakWithKillsHangsAndJoinsPasses) {
  TempDir logs;
  ASSERT_FALSE(logs.path().empty());
  // Seed 7's schedule: kills at 3.2, 7.0 and 11.3 s, a hang at 17.4 s, 7 joins (one skipped).
  const auto run = runStress(logs,
                             {"--peers", "4", "--duration", "20", "--seed", "7", "--kill-rate",
                              "0.1", "--hang-rate", "0.05", "--join-rate", "0.2"},
                             deadline(50s));
  ASSERT_TRUE(run.summary.is_object());
  const Json& s = run.summary;
  EXPECT_EQ(run.wait_status, 0) << run.output;
  EXPECT_TRUE(s["ok"].get<bool>()) << run.output;
  EXPECT_EQ(s["parity_failures"], 0) << run.output;
  EXPECT_EQ(s["wrong_results"], 0) << run.output;
  EXPECT_EQ(s["crashes"], 0) << run.output;
  EXPECT_EQ(s["stuck"], 0) << run.output;
  EXPECT_GE(s["kills"].get<int>(), 1) << run.output;
  EXPECT_GE(s["joins"].get<int>(), 1) << run.output;
  EXPECT_GE(s["hangs"].get<int>(), 1) << run.output;
  // Peers compared results, op after op.
  EXPECT_GT(s["steps"].get<int>(), 50) << run.output;
  EXPECT_GT(s["parity_checks"].get<int>(), s["steps"].get<int>()) << run.output;
  EXPECT_LT(s["max_stall_ms"].get<int>(), s["stuck_bound_ms"].get<int>());
}

// The full soak: quantized all-reduces (checked against the codec's
// bound, hashes across peers) and a shared state synced every few steps
// (joiners start from zeros), under kills and joins.
TEST(StressProcess, QuantizedSoakWithSharedStatePasses) {
  TempDir logs;
  ASSERT_FALSE(logs.path().empty());
  const auto run = runStress(
      logs,
      {"--peers", "4", "--duration", "12", "--seed", "6", "--kill-rate", "0.1", "--join-rate",
       "0.2", "--quant", "minmax:u8", "--state-size", "64K", "--state-every", "3"},
      deadline(40s));
  ASSERT_TRUE(run.summary.is_object());
  const Json& s = run.summary;
  EXPECT_EQ(run.wait_status, 0) << run.output;
  EXPECT_TRUE(s["ok"].get<bool>()) << run.output;
  EXPECT_EQ(s["quant"], "minmax:u8");
  EXPECT_EQ(s["wrong_results"], 0) << run.output;
  EXPECT_EQ(s["parity_failures"], 0) << run.output;
  EXPECT_GT(s["steps"].get<int>(), 30) << run.output;
  // Syncs ran about every 3rd step, and peers compared their states.
  EXPECT_GT(s["state_revisions"].get<int>(), 5) << run.output;
  EXPECT_LT(s["state_revisions"].get<int>(), s["steps"].get<int>()) << run.output;
  EXPECT_GT(s["state_parity_checks"].get<int>(), s["state_revisions"].get<int>()) << run.output;
}

// A compute-slow peer (a longer pause between its steps) makes the others
// wait for its vote in every step's topology update: the master finds it.
TEST(StressProcess, APeerThatPausesLongerIsFoundAStraggler) {
  TempDir logs;
  ASSERT_FALSE(logs.path().empty());
  const auto run = runStress(
      logs,
      {"--peers", "3", "--duration", "8", "--seed", "4", "--step-ms", "20", "--straggler-ms", "80",
       "--master-arg=--anomaly-window-ms=2000", "--master-arg=--straggler-confirm-ms=1000"},
      deadline(40s));
  ASSERT_TRUE(run.summary.is_object());
  EXPECT_EQ(run.wait_status, 0) << run.output;
  EXPECT_TRUE(run.summary["ok"].get<bool>()) << run.output;
  EXPECT_GE(run.summary["anomalies"].value("straggler", 0), 1) << run.output;
  EXPECT_EQ(run.summary["anomalies"].value("hung_peer", 0), 0) << run.output;
}

TEST(StressProcess, CorruptedResultIsAParityFailure) {
  TempDir logs;
  ASSERT_FALSE(logs.path().empty());
  const auto run =
      runStress(logs, {"--peers", "3", "--duration", "3", "--seed", "2", "--corrupt-step", "10"},
                deadline(30s));
  ASSERT_TRUE(run.summary.is_object());
  EXPECT_TRUE(WIFEXITED(run.wait_status) && WEXITSTATUS(run.wait_status) == 1)
      << ChildProcess::describeExit(run.wait_status) << "\n"
      << run.output;
  EXPECT_FALSE(run.summary["ok"].get<bool>());
  EXPECT_EQ(run.summary["parity_failures"], 1) << run.output;
  EXPECT_EQ(run.summary["crashes"], 0) << run.output;
  EXPECT_NE(run.output.find("PARITY FAILURE at revision"), std::string::npos) << run.output;
}

}  // namespace
}  // namespace eccl::test
