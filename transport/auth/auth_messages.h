// The shared-secret challenge-response that opens every connection of a
// cluster with a secret, before any ECCL frame. Both ends prove that they
// hold the secret without sending it; each proof covers both ends' fresh
// nonces, so a recorded exchange is worthless on another connection.
//
//   client -> server  Hello: "ECCLAUTH", version 1, method 1, 2 zero bytes, client nonce (32)
//   server -> client  server nonce (32)
//   client -> server  client proof = HMAC-SHA256(secret, "ECCL auth v1 client" | cn | sn)
//   server -> client  verdict (1 byte: 0 accepted, 1 refused), then, if accepted,
//                     server proof = HMAC-SHA256(secret, "ECCL auth v1 server" | cn | sn)
//
// The client sends frames right after its proof; it reads none before the
// server's proof checked out. The verdict lets a refused client say "wrong
// secret" instead of "connection closed". This authenticates the two ends,
// not the bytes that follow: across untrusted networks, use TLS.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "src/common/status.h"
#include "transport/auth/cluster_secret.h"

namespace eccl::transport::auth {

inline constexpr size_t kNonceBytes = 32;
inline constexpr size_t kProofBytes = 32;
inline constexpr size_t kMagicBytes = 8;
inline constexpr size_t kHelloBytes = kMagicBytes + 4 + kNonceBytes;
inline constexpr size_t kVerdictBytes = 1 + kProofBytes;
inline constexpr uint8_t kAuthVersion = 1;
inline constexpr uint8_t kMethodHmacSha256 = 1;
inline constexpr uint8_t kVerdictAccepted = 0;
inline constexpr uint8_t kVerdictRefused = 1;

using Nonce = std::array<uint8_t, kNonceBytes>;
using Proof = std::array<uint8_t, kProofBytes>;
using Hello = std::array<uint8_t, kHelloBytes>;

// From OpenSSL's CSPRNG.
Nonce randomNonce();

Hello encodeHello(const Nonce& client_nonce);
// True when `first` (kMagicBytes) open an authentication Hello.
bool isHelloMagic(std::span<const uint8_t> first);
// True when they open an ECCL frame: a peer that speaks without authenticating.
bool isFrameMagic(std::span<const uint8_t> first);
// The client nonce of a whole Hello; kProtocolError for another magic,
// kUnsupported for another version or method.
Result<Nonce> decodeHello(std::span<const uint8_t> hello);

enum class Side { kClient, kServer };
// What `side` sends to prove it holds the secret on this connection.
Proof prove(const ClusterSecret& secret, Side side, const Nonce& client_nonce,
            const Nonce& server_nonce);
// Constant time.
bool sameProof(std::span<const uint8_t> a, const Proof& b);

}  // namespace eccl::transport::auth
