// One binary for every micro-benchmark: each *_bench.cc registers its own.
#include <benchmark/benchmark.h>

BENCHMARK_MAIN();
