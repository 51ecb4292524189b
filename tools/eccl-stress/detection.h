// How quickly the soak's cluster notices a silent peer, and from that the
// longest a live peer may go without finishing a step before the soak calls
// it stuck.
#pragma once

#include <chrono>

namespace eccl::tools::stress {

struct Detection {
  // The master's settings: a peer silent for heartbeat x miss limit is lost.
  std::chrono::milliseconds heartbeat{100};
  int miss_limit = 4;
  // Each peer's deadline for joining, each update and each op (--timeout-ms).
  std::chrono::milliseconds op_timeout{5000};
  // Scheduling noise: a dozen processes share two cores.
  std::chrono::milliseconds margin{3000};

  // A peer whose neighbour hangs waits until the master declares that one lost
  // (its op then fails) or, at worst, until its op's deadline; then one update.
  std::chrono::milliseconds stuckBound() const {
    return heartbeat * miss_limit + op_timeout + margin;
  }
};

}  // namespace eccl::tools::stress
