// `eccl-bench diloco` end to end on loopback: three worker processes run both
// modes and rank 0's row carries every figure. Only what must hold whatever
// the machine's speed is asserted (a round holds its compute).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/test_env.h"
#include "tools/common/child_process.h"

namespace eccl::tools {
namespace {

using namespace std::chrono_literals;
using test::deadline;

TEST(DilocoBench, PrintsBothModesFigures) {
  auto bench = ChildProcess::spawn(
      {.argv = {ECCL_BENCH_BIN, "diloco", "--size", "1M", "--members", "3", "--rounds", "3",
                "--compute", "0.05", "--timeout", "30", "--json"},
       .stdout_to = ChildOutput::kPipe});
  ASSERT_TRUE(bench) << bench.status().toString();
  auto output = (*bench)->readAll(deadline(90s));
  ASSERT_TRUE(output) << output.status().toString();
  auto exited = (*bench)->wait(deadline(10s));
  ASSERT_TRUE(exited) << exited.status().toString();
  ASSERT_TRUE(ChildProcess::exitedCleanly(*exited)) << ChildProcess::describeExit(*exited) << "\n"
                                                    << *output;
  auto row = nlohmann::json::parse(*output, nullptr, false);
  ASSERT_FALSE(row.is_discarded()) << "not one JSON object: " << *output;
  EXPECT_EQ(row.value("bench", ""), "diloco");
  EXPECT_EQ(row.value("members", 0), 3);
  EXPECT_EQ(row.value("rounds", 0), 3);
  EXPECT_EQ(row.value("bytes", 0ull), 1ull << 20);
  EXPECT_EQ(row.value("compute", ""), "spin");
  const double compute = row.value("compute_s", 0.0);
  EXPECT_DOUBLE_EQ(compute, 0.05);
  EXPECT_GT(row.value("allreduce_s", 0.0), 0.0);
  EXPECT_GE(row.value("sync_round_s", 0.0), compute);
  EXPECT_GE(row.value("async_round_s", 0.0), compute);
  EXPECT_GT(row.value("async_over_sync", 0.0), 0.0);
}

}  // namespace
}  // namespace eccl::tools
