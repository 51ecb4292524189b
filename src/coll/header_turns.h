// The order in which a communicator's concurrent ring ops exchange their op
// headers. Headers travel on streams without tag or revision (op_key.h), so
// that peers that disagree on those still meet and name the difference; with
// several ops in flight, each takes its turn on those streams in the order
// the ops started, which is the order the application called them on every
// peer. An op's turn ends once its four header transfers have ended; then its
// data phase runs alongside the next op's.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <set>

#include "src/common/status.h"

namespace eccl::coll {

class HeaderTurns {
 public:
  // Blocks until every ticket before `ticket` is done; kTimeout at the deadline.
  Status waitTurn(uint64_t ticket, std::chrono::steady_clock::time_point deadline);
  // Ends the ticket's turn (or gives it up before it came). Idempotent.
  void done(uint64_t ticket);

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  uint64_t next_ = 0;              // the ticket whose turn it is
  std::set<uint64_t> done_early_;  // finished tickets after next_
};

}  // namespace eccl::coll
