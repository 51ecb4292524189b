// What this process remembers of its communicators that a master removed
// from their group (evicted, or declared lost while cut off), so that the
// next communicator it creates for the same master and group says so when it
// registers: the master then makes it wait out the eviction's back-off
// instead of taking a flapping peer straight back into the ring.
#pragma once

#include <optional>
#include <string>

#include "src/common/endpoint_id.h"
#include "src/protocol/control_messages.h"

namespace eccl::comm {

struct PastRemoval {
  EndpointId id;  // the removed communicator's id
  protocol::PeerToken token{};
};

// Keyed by the master's "host:port" and the group; the latest removal wins.
void rememberRemoval(const std::string& master, const std::string& group, const PastRemoval& past);
std::optional<PastRemoval> pastRemoval(const std::string& master, const std::string& group);
// Forgets the entry once a registration carrying it was taken (only if it is
// still that one: another communicator may have been removed since).
void forgetRemoval(const std::string& master, const std::string& group, const EndpointId& id);

}  // namespace eccl::comm
