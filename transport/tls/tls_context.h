// What every TLS connection of a process shares: the CA it trusts, its own
// certificate chain and key, and the protocol settings (TLS 1.3 only, mutual
// authentication).
//
// Peers are addressed by IP and identified by their certificate's fingerprint,
// which a layer above pins; so the peer's certificate must chain to the CA, but
// its names are not checked against a host name.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <string>

#include "src/common/status.h"
#include "transport/tls/fingerprint.h"

namespace eccl::transport::tls {

struct TlsFiles {
  std::string ca_file;    // PEM bundle of the CA(s) peers' certificates must chain to
  std::string cert_file;  // PEM chain: this process's certificate first
  std::string key_file;   // PEM private key of that certificate
};

class TlsContext {  // immutable once loaded; shared by every connection of a process
 public:
  // Loads a PEM CA bundle, this process's certificate chain and private key;
  // TLS 1.3 only, both roles require and verify the peer's certificate against
  // the CA, checks the key matches the certificate. Errors are
  // kInvalidArgument naming the file and OpenSSL's reason. Empty cert_file
  // and key_file load a context without a certificate, which every peer
  // refuses (for tests of that refusal).
  static Result<std::shared_ptr<const TlsContext>> load(const TlsFiles& files);
  // Loads ECCL_TLS_CA, ECCL_TLS_CERT and ECCL_TLS_KEY when all three are set;
  // null when none is; kInvalidArgument when only some are.
  static Result<std::shared_ptr<const TlsContext>> fromEnvironment();

  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;

  // For SSL_new, which takes a non-const context; the settings are not changed.
  SSL_CTX* native() const { return ctx_; }
  // This process's certificate, as peers will see and pin it.
  const CertFingerprint& localFingerprint() const { return local_fingerprint_; }

 private:
  TlsContext(SSL_CTX* ctx, const CertFingerprint& local_fingerprint);

  SSL_CTX* ctx_;
  CertFingerprint local_fingerprint_;
};

}  // namespace eccl::transport::tls
