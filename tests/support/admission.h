// Admits communicators into a ring the way an application does: the joiners
// connect while every accepted peer runs a topology update.
#pragma once

#include <chrono>
#include <vector>

#include "src/comm/communicator.h"

namespace eccl::test {

// Connects `joiners` while the `accepted` peers update (with no accepted peer,
// the joiners form the first ring by themselves). Every call must succeed
// within `timeout` (scaled by the caller); failures are test failures.
void admit(const std::vector<comm::Communicator*>& accepted,
           const std::vector<comm::Communicator*>& joiners, std::chrono::milliseconds timeout);

}  // namespace eccl::test
