// eccl-mpi-allreduce: one rank of Open MPI's MPI_Allreduce (in-place f32 sum),
// timed and checked exactly as `eccl-bench allreduce` times ECCL; rank 0
// prints the same JSON rows. eccl-bench starts it under mpirun (btl tcp over
// 127.0.0.1), which gives each rank its rank and the world size.
// Usage: mpirun -np N eccl-mpi-allreduce --peers N --sizes B1,B2
//        [--iters 5] [--warmup 1]
// (--timeout-ms is accepted and unused: MPI has no per-op timeout, eccl-bench
// bounds the whole run.)
#include <mpi.h>
#include <sys/prctl.h>

#include <climits>
#include <csignal>
#include <cstdio>

#include "tools/eccl-bench/allreduce_stats.h"
#include "tools/eccl-bench/comparator_args.h"

namespace {

using eccl::tools::bench::ScalarOp;

// The ops measureAllreduce runs, on MPI_COMM_WORLD.
struct MpiOps {
  bool sumFloats(float* data, size_t count) {
    return MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(count), MPI_FLOAT, MPI_SUM,
                         MPI_COMM_WORLD) == MPI_SUCCESS;
  }
  bool reduceScalar(double& value, ScalarOp op) {
    MPI_Op mpi_op = op == ScalarOp::kSum ? MPI_SUM : op == ScalarOp::kMin ? MPI_MIN : MPI_MAX;
    return MPI_Allreduce(MPI_IN_PLACE, &value, 1, MPI_DOUBLE, mpi_op, MPI_COMM_WORLD) ==
           MPI_SUCCESS;
  }
};

}  // namespace

int main(int argc, char** argv) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive mpirun (nor, through it, eccl-bench)
  MPI_Init(&argc, &argv);
  int rank = 0;
  int world = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world);
  eccl::tools::bench::ComparatorArgs args;
  bool valid = eccl::tools::bench::parseComparatorArgs(argc, argv, args) && args.peers == world;
  for (uint64_t size : args.sizes)
    valid = valid && size / sizeof(float) <= INT_MAX;  // MPI counts are ints
  if (!valid) {
    if (rank == 0) {
      std::fprintf(stderr,
                   "usage: mpirun -np N eccl-mpi-allreduce --peers N --sizes B1,B2 [--iters I] "
                   "[--warmup W]  (each size below 8 GiB)\n");
    }
    MPI_Finalize();
    return 2;
  }
  MpiOps ops;
  bool ok = true;
  for (size_t i = 0; ok && i < args.sizes.size(); ++i) {
    eccl::tools::bench::AllreduceRun run{"mpi",         rank,        world,
                                         args.sizes[i], args.warmup, args.iters};
    run.after_idle = std::chrono::milliseconds(args.after_idle_ms);
    ok = eccl::tools::bench::measureAllreduce(ops, run);
  }
  if (!ok) std::fprintf(stderr, "eccl-mpi-allreduce rank %d: MPI_Allreduce failed\n", rank);
  MPI_Finalize();
  return ok ? 0 : 1;
}
