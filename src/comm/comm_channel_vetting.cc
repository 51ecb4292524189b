// Data channels over TLS carry a certificate the cluster's CA signed, but the
// peer id in their handshake is only claimed: any holder of such a
// certificate could claim a member's id and replace its channel. So an
// accepted TLS channel is pooled only once its certificate is the one the
// master pinned for that id at registration (membership/master_state.h) and
// announced (Topology members, PeerAddress answers).
#include <algorithm>

#include "src/comm/communicator.h"
#include "src/common/log.h"
#include "src/protocol/messages.h"
#include "transport/tls/fingerprint.h"

namespace eccl::comm {
namespace {

bool isZero(const protocol::CertificateFingerprint& certificate) {
  return std::all_of(certificate.begin(), certificate.end(), [](uint8_t b) { return b == 0; });
}

std::string describe(const protocol::CertificateFingerprint& certificate) {
  return isZero(certificate) ? std::string("none")
                             : "sha256:" + transport::tls::formatFingerprint(certificate);
}

std::string mismatch(const protocol::CertificateFingerprint& presented,
                     const protocol::CertificateFingerprint& announced) {
  return "it presents certificate " + describe(presented) + ", but the master announced " +
         describe(announced);
}

void refuse(transport::Channel& channel, const std::string& why) {
  ECCL_LOG_WARN("refused a data channel from {} claiming to be peer {}: {}", channel.peer().address,
                channel.peer().id.shortHex(), why);
  channel.close("refused: " + why);
}

}  // namespace

void Communicator::rememberCertificateLocked(const EndpointId& peer,
                                             const protocol::CertificateFingerprint& certificate) {
  if (peer.isZero() || isZero(certificate)) return;
  announced_certificates_[peer] = certificate;
}

std::optional<Status> Communicator::connectedCertificateMismatchLocked(
    const transport::Channel& channel) const {
  const auto& presented = channel.peer().certificate;
  if (!presented) return std::nullopt;
  auto it = announced_certificates_.find(channel.peer().id);
  if (it == announced_certificates_.end() || it->second == *presented) return std::nullopt;
  return authError("the listener at " + channel.peer().address + " answered as peer " +
                   channel.peer().id.shortHex() + " with certificate " + describe(*presented) +
                   ", but the master announced " + describe(it->second));
}

void Communicator::vetAcceptedChannel(std::unique_ptr<transport::Channel> channel) {
  const auto& presented = channel->peer().certificate;
  if (!presented) {
    adoptChannel(std::move(channel));  // plaintext: the cluster secret (if any) is all there is
    return;
  }
  const EndpointId peer = channel->peer().id;
  std::unique_ptr<transport::Channel> replaced;
  std::string refusal;
  protocol::PeerLookup lookup;
  {
    std::lock_guard lock(mu_);
    auto known = announced_certificates_.find(peer);
    if (known != announced_certificates_.end()) {
      if (known->second != *presented) refusal = mismatch(*presented, known->second);
    } else if (destroying_ || phase_ == Phase::kAborted || phase_ == Phase::kRemoved) {
      refusal = "the communicator is closing";
    } else if (vetting_.size() >= kMaxChannelsInVetting && !vetting_.contains(peer)) {
      refusal = std::to_string(kMaxChannelsInVetting) + " channels already wait for the master";
    } else {
      // Unknown id: ask the master (a pending peer, or a topology not seen yet).
      ChannelInVetting& slot = vetting_[peer];
      replaced = std::move(slot.channel);
      slot.channel = std::move(channel);
      slot.lookup = ++next_lookup_;
      lookup.request = slot.lookup;
      lookup.peer = peer;
    }
  }
  if (replaced) replaced->close("replaced by a newer channel from the same peer id");
  if (lookup.request != 0) {
    sendControl(protocol::MessageType::kPeerLookup, protocol::encodeFrame(lookup));
    return;
  }
  if (refusal.empty()) {
    adoptChannel(std::move(channel));
  } else {
    refuse(*channel, refusal);
  }
}

bool Communicator::onVettingAnswer(const protocol::PeerAddress& address) {
  std::unique_ptr<transport::Channel> channel;
  std::string refusal;
  {
    std::lock_guard lock(mu_);
    auto it = vetting_.find(address.peer);
    if (it == vetting_.end() || it->second.lookup != address.request) return false;
    channel = std::move(it->second.channel);
    vetting_.erase(it);
    const auto& presented = *channel->peer().certificate;
    if (address.result == protocol::LookupResult::kUnknown) {
      refusal = "the master knows no such peer";
    } else {
      rememberCertificateLocked(address.peer, address.certificate);
      if (address.certificate != presented) refusal = mismatch(presented, address.certificate);
    }
  }
  if (refusal.empty()) {
    adoptChannel(std::move(channel));
  } else {
    refuse(*channel, refusal);
  }
  return true;
}

std::vector<protocol::PeerLookup> Communicator::vettingLookupsLocked() const {
  std::vector<protocol::PeerLookup> lookups;
  for (const auto& [peer, waiting] : vetting_) {
    protocol::PeerLookup lookup;
    lookup.request = waiting.lookup;
    lookup.peer = peer;
    lookups.push_back(lookup);
  }
  return lookups;
}

}  // namespace eccl::comm
