#include "c_api/security_fields.h"

namespace eccl::capi {
namespace {

bool isSet(const char* text) {
  return text != nullptr && *text != '\0';
}

}  // namespace

Result<Security> loadSecurityFields(const SecurityFields& fields, const std::string& prefix) {
  Security security;
  if (isSet(fields.secret_file)) {
    auto secret = transport::auth::ClusterSecret::loadFile(fields.secret_file);
    if (!secret) return secret.status().withContext(prefix + "->secret_file");
    security.secret = std::move(*secret);
  }
  const int tls_set =
      isSet(fields.tls_ca_file) + isSet(fields.tls_cert_file) + isSet(fields.tls_key_file);
  if (tls_set == 0) return security;
  if (tls_set != 3) {
    return invalidArgument(prefix +
                           ": TLS needs all of tls_ca_file, tls_cert_file and tls_key_file, "
                           "but only some are set");
  }
  auto tls = transport::tls::TlsContext::load(
      {fields.tls_ca_file, fields.tls_cert_file, fields.tls_key_file});
  if (!tls) return tls.status().withContext(prefix + "->tls_*_file");
  security.tls = std::move(*tls);
  return security;
}

}  // namespace eccl::capi
