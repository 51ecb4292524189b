// Point-to-point messages between this peer and any accepted peer of the
// cluster: the master says where a peer is (once; the answer is cached), the
// smaller id of a pair opens the channel, the other waits for it, and both
// number their messages per tag on that channel (p2p_stream.h).
#include <algorithm>

#include "src/coll/op_key.h"
#include "src/comm/communicator.h"
#include "src/comm/p2p_stream.h"
#include "src/common/log.h"
#include "src/protocol/messages.h"

namespace eccl::comm {

using protocol::LookupResult;
using protocol::MessageType;

namespace {

PeerLocation toLocation(const protocol::PeerAddress& address) {
  return {address.peer, address.group, address.rank, address.host, address.port};
}

std::string describeLookup(const protocol::PeerLookup& request) {
  if (!request.peer.isZero()) return "peer " + request.peer.toHex();
  return "rank " + std::to_string(request.rank) + " of group '" + request.group + "'";
}

bool sameChannel(const std::weak_ptr<transport::Channel>& a,
                 const std::shared_ptr<transport::Channel>& b) {
  return !a.owner_before(b) && !b.owner_before(a);
}

}  // namespace

// ---- Lookups ----------------------------------------------------------------------

Result<PeerLocation> Communicator::lookupPeer(const EndpointId& peer,
                                              std::chrono::milliseconds timeout) {
  if (peer.isZero()) return invalidArgument("lookupPeer: the peer id is zero");
  {
    std::lock_guard lock(mu_);
    for (size_t rank = 0; rank < members_.size(); ++rank) {
      const auto& m = members_[rank];
      if (m.peer == peer) {
        return PeerLocation{m.peer, options_.group, static_cast<uint32_t>(rank), m.host, m.port};
      }
    }
  }
  protocol::PeerLookup request;
  request.peer = peer;
  return lookup(std::move(request), Clock::now() + timeout);
}

Result<PeerLocation> Communicator::lookupRank(const std::string& group, uint32_t rank,
                                              std::chrono::milliseconds timeout) {
  if (group.empty() || group.size() > protocol::kMaxGroupName) {
    return invalidArgument("lookupRank: group name must be 1.." +
                           std::to_string(protocol::kMaxGroupName) + " bytes");
  }
  if (group == options_.group) {
    std::lock_guard lock(mu_);
    if (phase_ == Phase::kAccepted) {
      if (rank >= members_.size()) {
        return invalidArgument("lookupRank: group '" + group + "' has " +
                               std::to_string(members_.size()) + " accepted peers, no rank " +
                               std::to_string(rank));
      }
      const auto& m = members_[rank];
      return PeerLocation{m.peer, group, rank, m.host, m.port};
    }
  }
  protocol::PeerLookup request;
  request.group = group;
  request.rank = rank;
  return lookup(std::move(request), Clock::now() + timeout);
}

Result<PeerLocation> Communicator::lookup(protocol::PeerLookup request,
                                          Clock::time_point deadline) {
  std::unique_lock lock(mu_);
  if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
  if (!ever_registered_) return invalidUsage("lookup: this peer has not connected to the master");
  const uint64_t id = ++next_lookup_;
  request.request = id;
  lookups_[id].request = request;
  lock.unlock();
  sendControl(MessageType::kPeerLookup, protocol::encodeFrame(request));
  lock.lock();
  const bool answered = changed_.wait_until(lock, deadline, [&] {
    return lookups_[id].answer.has_value() || !terminalStatusLocked().isOk();
  });
  std::optional<protocol::PeerAddress> answer = std::move(lookups_[id].answer);
  lookups_.erase(id);
  if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
  if (!answered || !answer) {
    return timeoutError("lookup of " + describeLookup(request) +
                        ": the master did not answer in time");
  }
  switch (answer->result) {
    case LookupResult::kFound:
      if (answer->group != options_.group) p2p_addresses_[answer->peer] = toLocation(*answer);
      return toLocation(*answer);
    case LookupResult::kNotAccepted:
      return invalidArgument(describeLookup(request) +
                             " is registered but not accepted into its group yet");
    case LookupResult::kUnknown:
      break;
  }
  return invalidArgument("the master knows no accepted " + describeLookup(request));
}

// ---- Channels ---------------------------------------------------------------------

std::optional<std::pair<std::string, uint16_t>> Communicator::dataAddressLocked(
    const EndpointId& peer) const {
  auto member = std::find_if(members_.begin(), members_.end(),
                             [&](const protocol::Member& m) { return m.peer == peer; });
  if (member != members_.end()) return std::make_pair(member->host, member->port);
  auto cached = p2p_addresses_.find(peer);
  if (cached != p2p_addresses_.end()) {
    return std::make_pair(cached->second.host, cached->second.port);
  }
  return std::nullopt;
}

Result<std::shared_ptr<transport::Channel>> Communicator::p2pChannel(const EndpointId& peer,
                                                                     Clock::time_point deadline) {
  std::unique_lock lock(mu_);
  // A peer the master said has departed is lost, not unknown (the master has
  // forgotten it, so a lookup would say it never existed).
  auto departed = [&]() -> std::optional<Status> {
    auto gone = p2p_departed_.find(peer);
    if (gone == p2p_departed_.end()) return std::nullopt;
    return Status(Code::kPeerLost, "peer " + peer.shortHex() + " " + departureText(gone->second));
  };
  // Where it is: the ring knows its members; others are asked of the master
  // once (which also makes the master tell this peer when it departs).
  if (!dataAddressLocked(peer)) {
    if (auto lost = departed()) return *lost;
    lock.unlock();
    protocol::PeerLookup request;
    request.peer = peer;
    auto location = lookup(std::move(request), deadline);
    lock.lock();
    if (!location) {
      // It may have departed while the lookup was on its way.
      if (auto lost = departed(); lost && location.status().code() == Code::kInvalidArgument) {
        return *lost;
      }
      return location.status();
    }
    if (location->group == options_.group) p2p_addresses_[peer] = *location;
  }
  bool dialled = false;
  while (true) {
    if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
    if (auto lost = departed()) return *lost;
    auto it = channels_.find(peer);
    if (it != channels_.end() && it->second->status().isOk()) return it->second;
    if (dialled && connecting_.count(peer) == 0) {
      auto failure = connect_failures_.find(peer);
      if (failure != connect_failures_.end()) {
        return Status(Code::kConnectionError,
                      "no channel to peer " + peer.shortHex() + ": " + failure->second.toString());
      }
      dialled = false;  // it came up and failed at once: dial again
    }
    // One side of each pair connects (the smaller id), so a pair never gets two channels.
    if (id_ < peer && !dialled && connecting_.count(peer) == 0) {
      auto address = dataAddressLocked(peer);
      if (!address) return Status(Code::kPeerLost, "peer " + peer.shortHex() + " departed");
      connecting_.insert(peer);
      connect_failures_.erase(peer);
      dialled = true;
      lock.unlock();
      transport_->connect(address->first, address->second,
                          [this, peer](auto result) { onConnectResult(peer, std::move(result)); });
      lock.lock();
      continue;
    }
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout &&
        Clock::now() >= deadline) {
      return timeoutError("no channel to peer " + peer.shortHex() + " before the deadline" +
                          (id_ < peer ? "" : " (it opens the channel when it sends or receives)"));
    }
  }
}

// ---- Send and receive ---------------------------------------------------------------

void Communicator::failP2pOpsLocked(const EndpointId* peer, const Status& why) {
  for (const P2pOp& op : p2p_ops_) {
    if (peer == nullptr || op.peer == *peer) op.state->fail(why);
  }
}

Status Communicator::send(const EndpointId& peer, const void* data, size_t bytes, uint64_t tag,
                          std::chrono::milliseconds timeout, coll::OpInfo* info) {
  return pointToPoint(true, peer, const_cast<void*>(data), bytes, tag, timeout, info);
}

Status Communicator::recv(const EndpointId& peer, void* data, size_t bytes, uint64_t tag,
                          std::chrono::milliseconds timeout, coll::OpInfo* info) {
  return pointToPoint(false, peer, data, bytes, tag, timeout, info);
}

Status Communicator::pointToPoint(bool sending, EndpointId peer, void* data, size_t bytes,
                                  uint64_t tag, std::chrono::milliseconds timeout,
                                  coll::OpInfo* info) {
  const auto started = Clock::now();
  const auto deadline = started + timeout;
  const char* what = sending ? "send" : "recv";
  if (info != nullptr) *info = coll::OpInfo{};
  if (peer.isZero()) return invalidArgument(std::string(what) + ": the peer id is zero");
  if (peer == id_) return invalidArgument(std::string(what) + ": the peer is this peer");
  if (tag > coll::kMaxTag) {
    return invalidArgument(std::string(what) + ": tag " + std::to_string(tag) +
                           " is not below 2^32");
  }
  if (data == nullptr && bytes > 0) return invalidArgument(std::string(what) + ": buffer is NULL");
  {
    std::lock_guard lock(mu_);
    if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
    if (phase_ != Phase::kAccepted) {
      return invalidUsage(std::string(what) + ": this peer is not accepted into its group yet");
    }
  }
  auto channel = p2pChannel(peer, deadline);
  if (!channel) return channel.status().withContext(std::string(what));

  auto state = coll::OpState::create();
  uint16_t number;
  {
    std::lock_guard lock(mu_);
    if (Status terminal = terminalStatusLocked(); !terminal.isOk()) return terminal;
    P2pLink& link = p2p_links_[peer];
    if (!sameChannel(link.channel, *channel)) link = P2pLink{*channel, {}, {}};
    number = (sending ? link.sent : link.received)[tag]++;
    p2p_ops_.push_back({peer, state});
  }
  const uint64_t stream = p2pStreamId(tag, number);
  auto* base = static_cast<uint8_t*>(data);
  if (sending) {
    (*channel)->send(stream, std::span<const uint8_t>(base, bytes), state->callback(0));
  } else {
    (*channel)->recv(stream, std::span<uint8_t>(base, bytes), state->callback(0));
  }

  // Wait for the transport; a failure, an abort or the deadline closes the
  // channel, the only way to end a transfer that holds the caller's buffer.
  const std::string partner = "peer " + peer.shortHex();
  std::optional<Status> outcome;
  std::optional<Status> cause;
  while (!outcome) {
    std::vector<coll::Completion> done;
    // After closing, the transport ends the transfer within its close grace.
    std::optional<Status> external =
        state->wait(cause ? Clock::now() + std::chrono::seconds(1) : deadline, done);
    if (!done.empty()) {
      outcome = done.front().status;
      break;
    }
    if (cause) continue;
    if (external) {
      cause = *external;
    } else if (Clock::now() >= deadline) {
      cause =
          timeoutError(std::string(what) + " with tag " + std::to_string(tag) + " with " + partner +
                       " did not complete within " + std::to_string(timeout.count()) + " ms");
    } else {
      continue;
    }
    (*channel)->close(std::string(what) + " failed on peer " + id_.shortHex() + ": " +
                      cause->toString());
  }
  {
    std::lock_guard lock(mu_);
    std::erase_if(p2p_ops_, [&](const P2pOp& op) { return op.state == state; });
  }
  if (info != nullptr) {
    info->wall_time = Clock::now() - started;
    info->world_size = 2;
    if (outcome->isOk()) (sending ? info->bytes_sent : info->bytes_received) = bytes;
  }
  if (cause) return cause->withContext(what);
  if (outcome->isOk()) return Status::ok();
  return Status(coll::transferFailureCode(outcome->code()),
                std::string(what) + " with tag " + std::to_string(tag) + " with " + partner +
                    " failed: " + outcome->toString());
}

}  // namespace eccl::comm
