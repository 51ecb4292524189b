// The security options eccl-master and eccl-peer share: the cluster secret
// and the TLS certificates (ARCHITECTURE.md "Security").
#pragma once

#include <CLI/CLI.hpp>
#include <memory>
#include <string>

#include "src/common/status.h"
#include "transport/auth/cluster_secret.h"
#include "transport/tls/tls_context.h"

namespace eccl::tools {

struct SecurityArguments {
  std::string secret_file;
  std::string tls_ca;
  std::string tls_cert;
  std::string tls_key;
};

// --secret-file, --tls-ca, --tls-cert, --tls-key (the three TLS files go together).
void addSecurityOptions(CLI::App& app, SecurityArguments& args);

// What the options name, loaded; null where an option is absent (the library
// then reads ECCL_SECRET_FILE and ECCL_TLS_CA/CERT/KEY itself).
Result<std::shared_ptr<const transport::auth::ClusterSecret>> loadSecret(
    const SecurityArguments& args);
Result<std::shared_ptr<const transport::tls::TlsContext>> loadTls(const SecurityArguments& args);

}  // namespace eccl::tools
