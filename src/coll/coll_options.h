// Tunables and per-op results of the collectives.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "src/common/status.h"

namespace eccl::coll {

struct CollOptions {
  // Each step's segment is cut into chunks of about this size (rounded down
  // to whole elements), pipelined: chunk i+1 arrives while chunk i is reduced.
  size_t chunk_bytes = size_t{1} << 20;
  // Receives of reducing steps in flight per op. They land in a staging
  // buffer of pipeline_depth chunks: the op's only memory beyond the caller's.
  uint32_t pipeline_depth = 8;
  // Receives in flight per op in all. Those of copying steps land straight in
  // the caller's buffer and cost no memory; a chunk that arrives before its
  // receive is posted waits in the transport's pool and costs one more copy
  // (with 4 ahead, most of a large op's chunks did: loopback, 256 MiB, N = 4,
  // 64 ahead cut CPU-s per GB by ~20 %).
  uint32_t receives_ahead = 64;
  // Collectives of one communicator that may run at once (distinct tags; the
  // op queue starts them in call order). 1: strictly one after another.
  uint32_t max_ops_in_flight = 4;
  // An in-place all-reduce that fails leaves the caller's input in its buffer
  // (it keeps a copy from the op's start: the buffer's size in memory and one
  // memcpy). Without it the buffer is undefined after a failure.
  bool preserve_input = false;
  // All-reduces of at most this many bytes (count x element size) run by
  // recursive doubling over direct channels between partners: about log2(N)
  // exchanges instead of the ring's 2(N-1) steps, for latency-bound sizes
  // (src/comm/comm_rd_allreduce.cc). 0: always the ring; SIZE_MAX: always
  // recursive doubling. Every peer must use the same value: peers that pick
  // different algorithms never meet and time out.
  size_t small_allreduce_bytes = size_t{64} << 10;

  Status validate() const;
};

struct OpInfo {
  uint64_t bytes_sent = 0;  // payload this peer sent (headers and chunks)
  uint64_t bytes_received = 0;
  std::chrono::nanoseconds wall_time{0};
  uint32_t world_size = 0;
};

}  // namespace eccl::coll
