// The cluster-secret and TLS fields of ecclMasterConfig_t and ecclCommConfig_t:
// the files they name loaded once, at create, with the C field names in errors.
#pragma once

#include <memory>
#include <string>

#include "src/common/status.h"
#include "transport/auth/cluster_secret.h"
#include "transport/tls/tls_context.h"

namespace eccl::capi {

struct SecurityFields {
  const char* secret_file = nullptr;
  const char* tls_ca_file = nullptr;
  const char* tls_cert_file = nullptr;
  const char* tls_key_file = nullptr;
};

struct Security {
  std::shared_ptr<const transport::auth::ClusterSecret> secret;  // null: none
  std::shared_ptr<const transport::tls::TlsContext> tls;         // null: no TLS
};

// NULL and "" mean "not set". The TLS files come all three or not at all.
// kInvalidArgument naming the field (prefix + "->secret_file", ...) and the
// reason (unreadable, too short, not a certificate, key does not match).
Result<Security> loadSecurityFields(const SecurityFields& fields, const std::string& prefix);

}  // namespace eccl::capi
