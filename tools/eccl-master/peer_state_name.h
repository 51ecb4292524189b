// The names /metrics labels and /status use for a peer's state.
#pragma once

#include <array>

#include "src/protocol/control_messages.h"

namespace eccl::tools::master {

inline constexpr std::array<protocol::PeerState, 3> kPeerStates = {
    protocol::PeerState::kNew, protocol::PeerState::kPending, protocol::PeerState::kAccepted};

inline const char* peerStateName(protocol::PeerState state) {
  switch (state) {
    case protocol::PeerState::kNew:
      return "new";
    case protocol::PeerState::kPending:
      return "pending";
    case protocol::PeerState::kAccepted:
      return "accepted";
  }
  return "unknown";
}

}  // namespace eccl::tools::master
