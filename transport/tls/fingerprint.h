// A certificate's identity as peers pin it: SHA-256 of its DER encoding.
#pragma once

#include <openssl/types.h>

#include <array>
#include <cstdint>
#include <string>

namespace eccl::transport::tls {

using CertFingerprint = std::array<uint8_t, 32>;

// SHA-256 of the certificate's DER form (what `openssl x509 -fingerprint -sha256` prints).
CertFingerprint fingerprintOf(X509* certificate);

// 64 lowercase hex digits, no separators.
std::string formatFingerprint(const CertFingerprint& fingerprint);

}  // namespace eccl::transport::tls
