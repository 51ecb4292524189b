#include "transport/tls/tls_error.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <asio/error.hpp>
#include <climits>

namespace eccl::transport::tls {
namespace {

class TlsCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tls"; }
  std::string message(int value) const override {
    char text[256];
    ERR_error_string_n(static_cast<unsigned long>(value), text, sizeof(text));
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(value));
    return reason != nullptr ? std::string(reason) : std::string(text);
  }
};

class CertificateCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tls-certificate"; }
  std::string message(int value) const override {
    return std::string("certificate verify failed: ") + X509_verify_cert_error_string(value);
  }
};

class PlaintextPeerCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tls-plaintext-peer"; }
  std::string message(int) const override {
    return "the peer speaks ECCL without TLS (is it missing ECCL_TLS_CA/CERT/KEY, or is its "
           "ECCL_TLS_DATA different?)";
  }
};

const PlaintextPeerCategory& plaintextPeerCategory() {
  static const PlaintextPeerCategory category;
  return category;
}

}  // namespace

std::error_code plaintextPeerError() {
  return {1, plaintextPeerCategory()};
}

const std::error_category& tlsCategory() {
  static const TlsCategory category;
  return category;
}

const std::error_category& certificateCategory() {
  static const CertificateCategory category;
  return category;
}

bool isIdentityRefusal(const std::error_code& ec) {
  if (ec.category() == certificateCategory() || ec.category() == plaintextPeerCategory()) {
    return true;
  }
  if (ec.category() != tlsCategory()) return false;
  const auto error = static_cast<unsigned long>(ec.value());
  if (ERR_GET_LIB(error) != ERR_LIB_SSL) return false;
  switch (ERR_GET_REASON(error)) {
    case SSL_R_CERTIFICATE_VERIFY_FAILED:
    case SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
    case SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED:
    case SSL_R_TLSV1_ALERT_UNKNOWN_CA:
    case SSL_R_TLSV1_ALERT_ACCESS_DENIED:
    case SSL_R_TLSV1_ALERT_DECRYPT_ERROR:  // a signature the peer's key did not make
    case SSL_R_SSLV3_ALERT_BAD_CERTIFICATE:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_EXPIRED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_REVOKED:
    case SSL_R_SSLV3_ALERT_CERTIFICATE_UNKNOWN:
    case SSL_R_SSLV3_ALERT_UNSUPPORTED_CERTIFICATE:
      return true;
    default:
      return false;
  }
}

std::error_code takeTlsError() {
  const unsigned long error = ERR_get_error();
  ERR_clear_error();
  if (error == 0) return asio::error::connection_aborted;
  // A system error (ERR_SYSTEM_FLAG set) carries errno as its reason.
  if (ERR_SYSTEM_ERROR(error)) {
    return {static_cast<int>(ERR_GET_REASON(error)), std::system_category()};
  }
  // Library and reason fit in 31 bits (ERR_PACK), so the value survives an int.
  return {static_cast<int>(error & INT_MAX), tlsCategory()};
}

std::string takeOpensslErrors() {
  std::string text;
  while (const unsigned long error = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(error);
    std::string part;
    if (reason != nullptr) {
      part = reason;
    } else {
      char buffer[256];
      ERR_error_string_n(error, buffer, sizeof(buffer));
      part = buffer;
    }
    if (text.find(part) != std::string::npos) continue;
    if (!text.empty()) text += "; ";
    text += part;
  }
  return text.empty() ? std::string("unknown") : text;
}

}  // namespace eccl::transport::tls
