#include "transport/tls/fingerprint.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

namespace eccl::transport::tls {

CertFingerprint fingerprintOf(X509* certificate) {
  CertFingerprint out{};
  unsigned int length = 0;
  if (certificate == nullptr || X509_digest(certificate, EVP_sha256(), out.data(), &length) != 1 ||
      length != out.size()) {
    out.fill(0);
  }
  return out;
}

std::string formatFingerprint(const CertFingerprint& fingerprint) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(2 * fingerprint.size());
  for (uint8_t byte : fingerprint) {
    text += kDigits[byte >> 4];
    text += kDigits[byte & 0xF];
  }
  return text;
}

}  // namespace eccl::transport::tls
