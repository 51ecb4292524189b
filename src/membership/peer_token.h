// Peer tokens: HMAC-SHA256(master key, peer id). The master hands a token out
// at registration; a peer proves its id with it when it reconnects. Tokens are
// checked without any stored state, so a master restarted with the same key
// (eccl-master --token-key-file) recognises the peers of its predecessor.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "src/common/endpoint_id.h"
#include "src/common/status.h"
#include "src/protocol/control_messages.h"

namespace eccl::membership {

using TokenKey = std::array<uint8_t, 32>;

TokenKey randomTokenKey();
// Reads a key file (32 bytes), creating it with a random key (mode 0600) if absent.
// `existed` (optional) tells whether the file was there already: a master that
// finds one may be a restart whose peers are about to reconnect.
Result<TokenKey> loadOrCreateTokenKey(const std::string& path, bool* existed = nullptr);

protocol::PeerToken makeToken(const TokenKey& key, const EndpointId& peer);
// Constant-time comparison with the token the key gives this id.
bool tokenMatches(const TokenKey& key, const EndpointId& peer, const protocol::PeerToken& token);

}  // namespace eccl::membership
