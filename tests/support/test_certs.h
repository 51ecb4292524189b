// Certificates made at test time with OpenSSL's API (no keys in the repo): CAs
// and host certificates as PEM files in a temporary directory removed with it.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "transport/tls/fingerprint.h"
#include "transport/tls/tls_context.h"

namespace eccl::test {

struct HostCert {
  transport::tls::TlsFiles files;               // trusts the CA that signed it
  transport::tls::CertFingerprint fingerprint;  // SHA-256 of its DER, computed here
};

class TestCerts {
 public:
  TestCerts();  // a fresh directory under $TMPDIR (or /tmp)
  ~TestCerts();
  TestCerts(const TestCerts&) = delete;
  TestCerts& operator=(const TestCerts&) = delete;

  // A self-signed CA (EC P-256): writes <name>.pem; keeps its key to sign with.
  void makeCa(const std::string& name);
  // A host certificate for 127.0.0.1 (EC P-256, serverAuth and clientAuth)
  // signed by CA `ca`: writes <name>.pem and <name>.key (mode 0600). Valid
  // from `valid_from_days` to `valid_until_days` relative to now (both
  // negative: expired).
  HostCert makeHost(const std::string& name, const std::string& ca, int valid_from_days = -1,
                    int valid_until_days = 30);

  std::string path(const std::string& file) const { return dir_ + "/" + file; }

 private:
  struct Ca;
  std::string dir_;
  long serial_ = 0;
  std::map<std::string, std::unique_ptr<Ca>> cas_;
};

}  // namespace eccl::test
