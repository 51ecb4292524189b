// `eccl-bench allreduce --quant` end to end: three ECCL workers sum quantized
// f32 data; each checks its result against the error bound and that every
// rank holds the same bytes, and the row says which quantization it measured.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "tests/support/test_env.h"
#include "tools/common/child_process.h"

namespace eccl::tools {
namespace {

using namespace std::chrono_literals;
using test::deadline;

// Runs eccl-bench with args; its stdout, after checking it exited cleanly.
std::string runBench(std::vector<std::string> args) {
  args.insert(args.begin(), ECCL_BENCH_BIN);
  auto bench = ChildProcess::spawn({.argv = args, .stdout_to = ChildOutput::kPipe});
  EXPECT_TRUE(bench) << bench.status().toString();
  if (!bench) return "";
  auto output = (*bench)->readAll(deadline(60s));
  EXPECT_TRUE(output) << output.status().toString();
  auto exited = (*bench)->wait(deadline(10s));
  EXPECT_TRUE(exited) << exited.status().toString();
  if (!output || !exited) return "";
  EXPECT_TRUE(ChildProcess::exitedCleanly(*exited)) << ChildProcess::describeExit(*exited) << "\n"
                                                    << *output;
  return *output;
}

// Each rank checks its result against the error bound and compares its
// result's hash with every other rank's: N = 2, 3 and 6 processes.
class QuantizedBench : public ::testing::TestWithParam<int> {};

TEST_P(QuantizedBench, RowsAreCheckedAndLabelled) {
  const int peers = GetParam();
  const std::string output =
      runBench({"allreduce", "--peers", std::to_string(peers), "--sizes", "1M", "--iters", "2",
                "--quant", "minmax:u8", "--timeout", "20", "--json"});
  std::istringstream lines(output);
  int rows = 0;
  for (std::string line; std::getline(lines, line);) {
    auto row = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(row.is_discarded()) << "not JSON: " << line;
    ++rows;
    EXPECT_EQ(row.value("bench", ""), "allreduce") << line;
    EXPECT_EQ(row.value("impl", ""), "eccl") << line;
    EXPECT_EQ(row.value("quant", ""), "minmax:u8") << line;
    EXPECT_EQ(row.value("peers", 0), peers) << line;
    EXPECT_EQ(row.value("bytes", 0ull), 1ull << 20) << line;  // the f32 payload, as unquantized
    EXPECT_TRUE(row.value("ok", false)) << line;
    EXPECT_GT(row.value("busbw_gbs", 0.0), 0.0) << line;
  }
  EXPECT_EQ(rows, 1) << output;
}

INSTANTIATE_TEST_SUITE_P(Peers, QuantizedBench, ::testing::Values(2, 3, 6));

TEST(EcclBenchAllreduce, ExactRowsHaveNoQuantField) {
  const std::string output = runBench(
      {"allreduce", "--peers", "2", "--sizes", "64K", "--iters", "1", "--timeout", "20", "--json"});
  auto row = nlohmann::json::parse(output, nullptr, false);
  ASSERT_FALSE(row.is_discarded()) << output;
  EXPECT_TRUE(row.value("ok", false)) << output;
  EXPECT_FALSE(row.contains("quant")) << output;
}

// --after-idle times one more op after every rank idled: the row carries it.
TEST(EcclBenchAllreduce, TimesTheFirstOpAfterIdle) {
  const std::string output = runBench({"allreduce", "--peers", "2", "--sizes", "64K", "--iters",
                                       "1", "--after-idle", "50", "--timeout", "20", "--json"});
  auto row = nlohmann::json::parse(output, nullptr, false);
  ASSERT_FALSE(row.is_discarded()) << output;
  EXPECT_TRUE(row.value("ok", false)) << output;
  EXPECT_GT(row.value("after_idle_s", 0.0), 0.0) << output;
}

// --compare eccl-exact measures ECCL without quantization in the same run.
TEST(EcclBenchAllreduce, ComparesAQuantizedRunWithAnExactOne) {
  const std::string output = runBench({"allreduce", "--peers", "2", "--sizes", "256K", "--iters",
                                       "1", "--quant", "minmax:u8", "--compare", "eccl-exact",
                                       "--rounds", "1", "--timeout", "20", "--json"});
  std::istringstream lines(output);
  std::map<std::string, nlohmann::json> rows;
  for (std::string line; std::getline(lines, line);) {
    auto row = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(row.is_discarded()) << "not JSON: " << line;
    EXPECT_TRUE(row.value("ok", false)) << line;
    rows[row.value("impl", "")] = row;
  }
  ASSERT_EQ(rows.size(), 2u) << output;
  EXPECT_EQ(rows["eccl"].value("quant", ""), "minmax:u8") << output;
  EXPECT_FALSE(rows["eccl-exact"].contains("quant")) << output;
}

TEST(EcclBenchAllreduce, RejectsABadQuantSpec) {
  for (const char* spec : {"minmax", "max:u8", "minmax:u4", "zps:i8:100", "minmax:u8:x"}) {
    // CLI11 refuses it before any process starts; its message goes nowhere.
    auto bench = ChildProcess::spawn({.argv = {ECCL_BENCH_BIN, "allreduce", "--quant", spec},
                                      .stdout_to = ChildOutput::kDevNull,
                                      .stderr_to = ChildOutput::kDevNull});
    ASSERT_TRUE(bench) << bench.status().toString();
    auto exited = (*bench)->wait(deadline(10s));
    ASSERT_TRUE(exited) << exited.status().toString();
    EXPECT_FALSE(ChildProcess::exitedCleanly(*exited)) << spec;
  }
}

}  // namespace
}  // namespace eccl::tools
