// The schedule of the small all-reduce (comm_rd_allreduce.cc): recursive
// doubling among the largest power of two p <= N ranks, the e = N - p others
// folded in first and served last.
//   exchange 0 (fold)    rank p+i sends its data to rank i (i < e);
//   exchange 1+k         rank r < p swaps its partial result with r XOR 2^k
//                        and both combine them;
//   exchange 1+log2(p)   rank i < e sends the final result to rank p+i.
// A rank's partners get their channels when the ring is set up, like its
// ring neighbours, so that the op never dials.
#pragma once

#include <cstdint>
#include <vector>

namespace eccl::comm {

struct Exchange {
  uint32_t id = 0;  // numbered the same on both partners (stream ids)
  uint32_t partner = 0;
  bool send = false;
  bool recv = false;
  bool reduce = false;  // the received data is combined with this rank's
};

// rank < world_size, world_size >= 2: this rank's exchanges in order.
std::vector<Exchange> recursiveDoublingPlan(uint32_t world_size, uint32_t rank);

}  // namespace eccl::comm
