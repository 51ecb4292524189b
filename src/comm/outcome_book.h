// A peer's record of how far its collectives of the current revision got, for
// the agreement on their outcome among survivors (the master's side and the
// protocol: src/membership/outcome_arbiter.h).
//
// An op is kRunning until its data is complete here, then kComplete while its
// completion lap goes round the ring, then kSucceeded; kIncomplete if it ended
// without its data. When the master asks about an op that is not complete
// here, the answer is kIncomplete and the op is doomed: it fails, even if its
// data arrives later, and one that has not started yet fails when it starts.
// That promise is what lets the master decide on a failure at once.
//
// Not thread-safe: the communicator calls it under its mutex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "src/common/status.h"
#include "src/protocol/control_messages.h"

namespace eccl::comm {

// Why an op the master doomed fails here: kPeerLost naming the op (`name`)
// and when the master asked (e.g. "before it started here").
Status doomedOpError(const std::string& name, const std::string& when);

class OutcomeBook {
 public:
  // Finished ops remembered (succeeded ones are forgotten oldest first beyond
  // it; an op the master asks about is never that old: a peer cannot be more
  // ops ahead of another than a communicator runs at once).
  static constexpr size_t kMaxEntries = 256;

  // Ops of another revision are forgotten.
  void reset(uint64_t revision);
  uint64_t revision() const { return revision_; }

  // The op starts here. False: the master was told it is incomplete here (it must fail).
  bool begin(const protocol::OpRef& op);
  // Its data is complete here. False: doomed meanwhile (it must fail).
  bool complete(const protocol::OpRef& op);
  void succeeded(const protocol::OpRef& op);
  // It ended without its data complete here.
  void failed(const protocol::OpRef& op);

  // The master's question: how far the op got here. Dooms it unless its data
  // is complete; `doomed_now` says whether this answer doomed a running op.
  protocol::OpProgress answer(const protocol::OpRef& op, bool* doomed_now);

  void setVerdict(const protocol::OpRef& op, bool success);
  std::optional<bool> verdict(const protocol::OpRef& op) const;

 private:
  enum class State { kRunning, kComplete, kSucceeded, kIncomplete };
  struct Entry {
    State state = State::kRunning;
    std::optional<bool> verdict;
  };
  Entry* find(const protocol::OpRef& op);
  void forgetOldSucceeded();

  uint64_t revision_ = 0;
  std::map<uint32_t, Entry> entries_;  // by index
  // Every op below this index that is not in entries_ succeeded here (forgotten).
  uint32_t forgotten_below_ = 0;
};

}  // namespace eccl::comm
