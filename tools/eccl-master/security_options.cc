#include "tools/eccl-master/security_options.h"

namespace eccl::tools {

void addSecurityOptions(CLI::App& app, SecurityArguments& args) {
  app.add_option("--secret-file", args.secret_file,
                 "Cluster shared secret (at least 16 bytes; `openssl rand -hex 32`): every "
                 "connection must prove it holds the same secret (default: $ECCL_SECRET_FILE, "
                 "else none)")
      ->check(CLI::ExistingFile);
  auto* ca = app.add_option("--tls-ca", args.tls_ca,
                            "TLS: PEM bundle of the cluster's CA (tools/eccl-certs makes one); "
                            "with --tls-cert and --tls-key every connection to the master, and "
                            "data channels as $ECCL_TLS_DATA says, is TLS 1.3 with mutual "
                            "authentication (default: $ECCL_TLS_CA, else no TLS)")
                 ->check(CLI::ExistingFile);
  auto* cert = app.add_option("--tls-cert", args.tls_cert,
                              "TLS: this host's certificate chain (PEM; default: $ECCL_TLS_CERT)")
                   ->check(CLI::ExistingFile);
  auto* key = app.add_option("--tls-key", args.tls_key,
                             "TLS: this host's private key (PEM; default: $ECCL_TLS_KEY)")
                  ->check(CLI::ExistingFile);
  ca->needs(cert)->needs(key);
  cert->needs(ca)->needs(key);
  key->needs(ca)->needs(cert);
}

Result<std::shared_ptr<const transport::auth::ClusterSecret>> loadSecret(
    const SecurityArguments& args) {
  if (args.secret_file.empty()) return std::shared_ptr<const transport::auth::ClusterSecret>();
  return transport::auth::ClusterSecret::loadFile(args.secret_file);
}

Result<std::shared_ptr<const transport::tls::TlsContext>> loadTls(const SecurityArguments& args) {
  if (args.tls_ca.empty()) return std::shared_ptr<const transport::tls::TlsContext>();
  return transport::tls::TlsContext::load({args.tls_ca, args.tls_cert, args.tls_key});
}

}  // namespace eccl::tools
