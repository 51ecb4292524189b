// The command line eccl-bench gives its all-reduce comparators
// (eccl-gloo-allreduce, eccl-mpi-allreduce):
//   --peers N --sizes B1,B2 [--iters 5] [--warmup 1] [--timeout-ms 120000]
//   [--after-idle-ms MS]
//   [--rank R --store DIR]   (Gloo only: MPI takes both from mpirun)
//   [--host ADDR]            (Gloo only: the address its pairs use; 127.0.0.1)
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace eccl::tools::bench {

struct ComparatorArgs {
  int rank = -1;
  int peers = 0;
  std::string store;
  std::string host = "127.0.0.1";
  std::vector<uint64_t> sizes;  // bytes
  int iters = 5;
  int warmup = 1;
  long long timeout_ms = 120'000;
  long long after_idle_ms = 0;  // AllreduceRun::after_idle
};

// False on an unknown option, a malformed size list, or a missing or
// out-of-range common value (peers, sizes, iters, warmup).
inline bool parseComparatorArgs(int argc, char** argv, ComparatorArgs& args) {
  if (argc % 2 != 1) return false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const char* value = argv[i + 1];
    if (key == "--rank") {
      args.rank = std::atoi(value);
    } else if (key == "--peers") {
      args.peers = std::atoi(value);
    } else if (key == "--store") {
      args.store = value;
    } else if (key == "--host") {
      args.host = value;
    } else if (key == "--iters") {
      args.iters = std::atoi(value);
    } else if (key == "--warmup") {
      args.warmup = std::atoi(value);
    } else if (key == "--timeout-ms") {
      args.timeout_ms = std::atoll(value);
    } else if (key == "--after-idle-ms") {
      args.after_idle_ms = std::atoll(value);
    } else if (key == "--sizes") {
      for (const char* p = value; *p != '\0';) {
        char* end = nullptr;
        args.sizes.push_back(std::strtoull(p, &end, 10));
        if (end == p || (*end != ',' && *end != '\0')) return false;
        p = *end == ',' ? end + 1 : end;
      }
    } else {
      return false;
    }
  }
  return args.peers > 0 && !args.sizes.empty() && args.iters > 0 && args.warmup >= 0;
}

}  // namespace eccl::tools::bench
