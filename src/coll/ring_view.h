// What an op needs to know about the ring at the moment it starts: this
// peer's place, the revision, and the channels to its two neighbours.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "src/common/endpoint_id.h"
#include "transport/transport.h"

namespace eccl::coll {

struct RingNeighbour {
  std::shared_ptr<transport::Channel> channel;  // held for the op's whole life
  EndpointId id;
  uint32_t rank = 0;
  // "peer 3f2a9c01 (rank 2)": how errors name it.
  std::string describe() const {
    return "peer " + id.shortHex() + " (rank " + std::to_string(rank) + ")";
  }
};

class HeaderTurns;
struct OpProgress;

struct RingView {
  EndpointId self;
  uint32_t rank = 0;
  uint32_t world_size = 1;
  uint64_t revision = 0;
  RingNeighbour prev;  // sends to this peer; unset when world_size == 1
  RingNeighbour next;  // this peer sends to it (the same peer as prev when world_size == 2)
  // With several ops in flight: whose turn it is on the header streams
  // (header_turns.h). Null: this op is the only one.
  HeaderTurns* header_turns = nullptr;
  uint64_t ticket = 0;
  // Where the op reports how far it got (op_progress.h); null: nowhere.
  OpProgress* progress = nullptr;
};

}  // namespace eccl::coll
