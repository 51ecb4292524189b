#include "transport/tls/tls_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <cstdlib>

#include "transport/tls/tls_error.h"

namespace eccl::transport::tls {
namespace {

// AES-GCM first (AES-NI makes it the fastest here); ChaCha20 for peers without it.
constexpr const char* kCipherSuites =
    "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256";

struct CtxFree {
  void operator()(SSL_CTX* ctx) const { SSL_CTX_free(ctx); }
};

Status loadError(const std::string& what, const std::string& file) {
  return invalidArgument("cannot load " + what + " '" + file + "': " + takeOpensslErrors());
}

// OpenSSL decodes a certificate's extensions (key identifiers, CA flag) on
// first use and caches them in the X509 object. Two threads verifying their
// first handshakes at once may both decode them into the shared CA and own
// certificates, one replacing what the other reads (OpenSSL 3.0, seen by
// TSan). Decoding them once here, before any connection, makes every later
// use a read.
void cacheCertificateExtensions(SSL_CTX* ctx) {
  const auto cache = [](X509* cert) {
    if (cert != nullptr) X509_check_purpose(cert, -1, 0);
  };
  STACK_OF(X509_OBJECT)* trusted = X509_STORE_get0_objects(SSL_CTX_get_cert_store(ctx));
  for (int i = 0; i < sk_X509_OBJECT_num(trusted); ++i) {
    cache(X509_OBJECT_get0_X509(sk_X509_OBJECT_value(trusted, i)));
  }
  cache(SSL_CTX_get0_certificate(ctx));
  STACK_OF(X509)* chain = nullptr;
  if (SSL_CTX_get0_chain_certs(ctx, &chain) == 1) {
    for (int i = 0; i < sk_X509_num(chain); ++i)
      cache(sk_X509_value(chain, i));
  }
}

}  // namespace

TlsContext::TlsContext(SSL_CTX* ctx, const CertFingerprint& local_fingerprint)
    : ctx_(ctx), local_fingerprint_(local_fingerprint) {}

TlsContext::~TlsContext() {
  SSL_CTX_free(ctx_);
}

Result<std::shared_ptr<const TlsContext>> TlsContext::load(const TlsFiles& files) {
  ERR_clear_error();
  std::unique_ptr<SSL_CTX, CtxFree> ctx(SSL_CTX_new(TLS_method()));
  if (!ctx) return internalError("cannot create a TLS context: " + takeOpensslErrors());
  if (SSL_CTX_set_min_proto_version(ctx.get(), TLS1_3_VERSION) != 1 ||
      SSL_CTX_set_ciphersuites(ctx.get(), kCipherSuites) != 1) {
    return internalError("cannot configure TLS 1.3: " + takeOpensslErrors());
  }
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  // One ticket, stateless, never used for resumption: it arrives right after
  // the server checked the client's certificate, so the client's handshake
  // waits for it and learns there whether it was accepted (TLS 1.3 otherwise
  // tells a rejected client only at its first read).
  SSL_CTX_set_num_tickets(ctx.get(), 1);
  SSL_CTX_set_session_cache_mode(ctx.get(), SSL_SESS_CACHE_OFF);
  if (SSL_CTX_load_verify_locations(ctx.get(), files.ca_file.c_str(), nullptr) != 1) {
    return loadError("CA bundle", files.ca_file);
  }
  if (files.cert_file.empty() && files.key_file.empty()) {
    // No certificate of its own: every peer refuses it (tests use this).
    cacheCertificateExtensions(ctx.get());
    return std::shared_ptr<const TlsContext>(new TlsContext(ctx.release(), CertFingerprint{}));
  }
  if (SSL_CTX_use_certificate_chain_file(ctx.get(), files.cert_file.c_str()) != 1) {
    return loadError("certificate chain", files.cert_file);
  }
  // Also fails when the key does not match the certificate ("key values mismatch").
  if (SSL_CTX_use_PrivateKey_file(ctx.get(), files.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return loadError("private key (for certificate '" + files.cert_file + "')", files.key_file);
  }
  if (SSL_CTX_check_private_key(ctx.get()) != 1) {
    return invalidArgument("private key '" + files.key_file + "' does not match certificate '" +
                           files.cert_file + "': " + takeOpensslErrors());
  }
  cacheCertificateExtensions(ctx.get());
  const CertFingerprint local = fingerprintOf(SSL_CTX_get0_certificate(ctx.get()));
  return std::shared_ptr<const TlsContext>(new TlsContext(ctx.release(), local));
}

Result<std::shared_ptr<const TlsContext>> TlsContext::fromEnvironment() {
  const auto variable = [](const char* name) {
    const char* value = std::getenv(name);
    return value != nullptr ? std::string(value) : std::string();
  };
  const TlsFiles files{variable("ECCL_TLS_CA"), variable("ECCL_TLS_CERT"),
                       variable("ECCL_TLS_KEY")};
  const int set = !files.ca_file.empty() + !files.cert_file.empty() + !files.key_file.empty();
  if (set == 0) return std::shared_ptr<const TlsContext>();
  if (set != 3) {
    return invalidArgument(
        "TLS needs all of ECCL_TLS_CA, ECCL_TLS_CERT and ECCL_TLS_KEY, but only some are set");
  }
  return load(files);
}

}  // namespace eccl::transport::tls
