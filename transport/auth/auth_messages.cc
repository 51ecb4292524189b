#include "transport/auth/auth_messages.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace eccl::transport::auth {
namespace {

constexpr std::array<uint8_t, kMagicBytes> kHelloMagic = {'E', 'C', 'C', 'L', 'A', 'U', 'T', 'H'};
constexpr std::string_view kClientLabel = "ECCL auth v1 client";
constexpr std::string_view kServerLabel = "ECCL auth v1 server";

}  // namespace

Nonce randomNonce() {
  Nonce nonce;
  if (RAND_bytes(nonce.data(), static_cast<int>(nonce.size())) != 1) {
    // The OS entropy source failed; no connection can be authenticated.
    throw std::runtime_error("OpenSSL RAND_bytes failed: no entropy for an authentication nonce");
  }
  return nonce;
}

Hello encodeHello(const Nonce& client_nonce) {
  Hello hello{};
  std::copy(kHelloMagic.begin(), kHelloMagic.end(), hello.begin());
  hello[kMagicBytes] = kAuthVersion;
  hello[kMagicBytes + 1] = kMethodHmacSha256;
  std::copy(client_nonce.begin(), client_nonce.end(), hello.begin() + kMagicBytes + 4);
  return hello;
}

bool isHelloMagic(std::span<const uint8_t> first) {
  return first.size() >= kMagicBytes &&
         std::equal(kHelloMagic.begin(), kHelloMagic.end(), first.begin());
}

bool isFrameMagic(std::span<const uint8_t> first) {
  return first.size() >= 4 && first[0] == 'E' && first[1] == 'C' && first[2] == 'C' &&
         first[3] == 'L' && !isHelloMagic(first);
}

Result<Nonce> decodeHello(std::span<const uint8_t> hello) {
  if (hello.size() != kHelloBytes || !isHelloMagic(hello)) {
    return protocolError("not an ECCL authentication hello");
  }
  if (hello[kMagicBytes] != kAuthVersion || hello[kMagicBytes + 1] != kMethodHmacSha256) {
    return unsupportedError("authentication version " + std::to_string(hello[kMagicBytes]) +
                            " method " + std::to_string(hello[kMagicBytes + 1]) +
                            " (this build speaks version 1, HMAC-SHA256)");
  }
  if (hello[kMagicBytes + 2] != 0 || hello[kMagicBytes + 3] != 0) {
    return protocolError("authentication hello with non-zero reserved bytes");
  }
  Nonce nonce;
  std::copy(hello.begin() + kMagicBytes + 4, hello.end(), nonce.begin());
  return nonce;
}

Proof prove(const ClusterSecret& secret, Side side, const Nonce& client_nonce,
            const Nonce& server_nonce) {
  const std::string_view label = side == Side::kClient ? kClientLabel : kServerLabel;
  std::vector<uint8_t> message;
  message.reserve(label.size() + 2 * kNonceBytes);
  message.insert(message.end(), label.begin(), label.end());
  message.insert(message.end(), client_nonce.begin(), client_nonce.end());
  message.insert(message.end(), server_nonce.begin(), server_nonce.end());
  Proof proof{};
  unsigned int length = 0;
  const auto key = secret.key();
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), message.data(), message.size(),
           proof.data(), &length) == nullptr ||
      length != proof.size()) {
    throw std::runtime_error("OpenSSL HMAC-SHA256 failed");
  }
  return proof;
}

bool sameProof(std::span<const uint8_t> a, const Proof& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), b.size()) == 0;
}

}  // namespace eccl::transport::auth
