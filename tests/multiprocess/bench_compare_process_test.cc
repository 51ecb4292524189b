// `eccl-bench allreduce --compare gloo,mpi` end to end: ECCL, Gloo and Open MPI
// in one run, each with a checked row per size. Built only where both
// comparators are (libgloo-dev, libopenmpi-dev and openmpi-bin installed).
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/test_env.h"
#include "tools/common/child_process.h"

namespace eccl::tools {
namespace {

using namespace std::chrono_literals;
using test::deadline;

TEST(EcclBenchAllreduce, ComparesWithGlooAndMpiInOneRun) {
  auto bench = ChildProcess::spawn(
      {.argv = {ECCL_BENCH_BIN, "allreduce", "--peers", "2", "--sizes", "64K,1M", "--iters", "2",
                "--rounds", "1", "--compare", "gloo,mpi", "--timeout", "20", "--json"},
       .stdout_to = ChildOutput::kPipe});
  ASSERT_TRUE(bench) << bench.status().toString();
  auto output = (*bench)->readAll(deadline(60s));
  ASSERT_TRUE(output) << output.status().toString();
  auto exited = (*bench)->wait(deadline(10s));
  ASSERT_TRUE(exited) << exited.status().toString();
  EXPECT_TRUE(ChildProcess::exitedCleanly(*exited)) << ChildProcess::describeExit(*exited) << "\n"
                                                    << *output;

  std::istringstream lines(*output);
  std::vector<std::pair<std::string, uint64_t>> ok_rows;
  for (std::string line; std::getline(lines, line);) {
    auto row = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(row.is_discarded()) << "not JSON: " << line;
    EXPECT_EQ(row.value("bench", ""), "allreduce") << line;
    EXPECT_EQ(row.value("peers", 0), 2) << line;
    // Every implementation samples its own bytes in flight during its timed ops.
    ASSERT_TRUE(row.contains("inflight_mib") && row.contains("inflight_max_mib")) << line;
    EXPECT_GE(row.value("inflight_mib", -1.0), 0.0) << line;
    EXPECT_GE(row.value("inflight_max_mib", -1.0), row.value("inflight_mib", 0.0)) << line;
    if (row.value("ok", false))
      ok_rows.emplace_back(row.value("impl", ""), row.value("bytes", 0ull));
  }
  for (const char* impl : {"eccl", "gloo", "mpi"}) {
    for (uint64_t bytes : {64ull << 10, 1ull << 20}) {
      EXPECT_EQ(
          std::count(ok_rows.begin(), ok_rows.end(), std::make_pair(std::string(impl), bytes)), 1)
          << "no ok row for " << impl << " at " << bytes << " bytes:\n"
          << *output;
    }
  }
}

}  // namespace
}  // namespace eccl::tools
