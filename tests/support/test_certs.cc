#include "tests/support/test_certs.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <vector>

namespace eccl::test {
namespace {

struct KeyFree {
  void operator()(EVP_PKEY* key) const { EVP_PKEY_free(key); }
};
struct CertFree {
  void operator()(X509* cert) const { X509_free(cert); }
};
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using CertPtr = std::unique_ptr<X509, CertFree>;

void check(bool ok, const char* what) {
  if (!ok) throw std::runtime_error(std::string("test certificate: ") + what + " failed");
}

KeyPtr newKey() {
  KeyPtr key(EVP_EC_gen("P-256"));
  check(key != nullptr, "EVP_EC_gen");
  return key;
}

void addExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* extension = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  check(extension != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, extension, -1);
  X509_EXTENSION_free(extension);
}

CertPtr newCert(EVP_PKEY* key, const std::string& common_name, long serial, int from_days,
                int until_days) {
  CertPtr cert(X509_new());
  check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);  // v3
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), static_cast<long>(from_days) * 86400);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(until_days) * 86400);
  X509_set_pubkey(cert.get(), key);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(common_name.c_str()), -1, -1,
                             0);
  return cert;
}

void writePem(const std::string& path, X509* cert) {
  FILE* file = std::fopen(path.c_str(), "w");
  check(file != nullptr, "fopen");
  const bool ok = PEM_write_X509(file, cert) == 1;
  std::fclose(file);
  check(ok, "PEM_write_X509");
}

void writeKey(const std::string& path, EVP_PKEY* key) {
  FILE* file = std::fopen(path.c_str(), "w");
  check(file != nullptr, "fopen");
  ::fchmod(::fileno(file), 0600);
  const bool ok = PEM_write_PrivateKey(file, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  std::fclose(file);
  check(ok, "PEM_write_PrivateKey");
}

// Computed from the DER bytes here, not with the library's fingerprintOf.
transport::tls::CertFingerprint derSha256(X509* cert) {
  const int length = i2d_X509(cert, nullptr);
  check(length > 0, "i2d_X509");
  std::vector<unsigned char> der(static_cast<size_t>(length));
  unsigned char* out = der.data();
  i2d_X509(cert, &out);
  transport::tls::CertFingerprint digest{};
  unsigned int digest_length = 0;
  check(
      EVP_Digest(der.data(), der.size(), digest.data(), &digest_length, EVP_sha256(), nullptr) == 1,
      "EVP_Digest");
  return digest;
}

}  // namespace

struct TestCerts::Ca {
  KeyPtr key;
  CertPtr cert;
  std::string pem;
};

TestCerts::TestCerts() {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern =
      std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/eccl-test-certs-XXXXXX";
  check(::mkdtemp(pattern.data()) != nullptr, "mkdtemp");
  dir_ = pattern;
}

TestCerts::~TestCerts() {
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

void TestCerts::makeCa(const std::string& name) {
  auto ca = std::make_unique<Ca>();
  ca->key = newKey();
  ca->cert = newCert(ca->key.get(), "ECCL test CA " + name, ++serial_, -1, 30);
  X509_set_issuer_name(ca->cert.get(), X509_get_subject_name(ca->cert.get()));
  addExtension(ca->cert.get(), ca->cert.get(), NID_basic_constraints, "critical,CA:TRUE");
  addExtension(ca->cert.get(), ca->cert.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  addExtension(ca->cert.get(), ca->cert.get(), NID_subject_key_identifier, "hash");
  check(X509_sign(ca->cert.get(), ca->key.get(), EVP_sha256()) > 0, "X509_sign");
  ca->pem = path(name + ".pem");
  writePem(ca->pem, ca->cert.get());
  cas_[name] = std::move(ca);
}

HostCert TestCerts::makeHost(const std::string& name, const std::string& ca_name,
                             int valid_from_days, int valid_until_days) {
  const Ca& ca = *cas_.at(ca_name);
  KeyPtr key = newKey();
  CertPtr cert = newCert(key.get(), name, ++serial_, valid_from_days, valid_until_days);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.cert.get()));
  addExtension(cert.get(), ca.cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  addExtension(cert.get(), ca.cert.get(), NID_key_usage, "critical,digitalSignature");
  addExtension(cert.get(), ca.cert.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  addExtension(cert.get(), ca.cert.get(), NID_subject_alt_name, "IP:127.0.0.1");
  addExtension(cert.get(), ca.cert.get(), NID_authority_key_identifier, "keyid:always");
  check(X509_sign(cert.get(), ca.key.get(), EVP_sha256()) > 0, "X509_sign");
  HostCert out;
  out.files.ca_file = ca.pem;
  out.files.cert_file = path(name + ".pem");
  out.files.key_file = path(name + ".key");
  writePem(out.files.cert_file, cert.get());
  writeKey(out.files.key_file, key.get());
  out.fingerprint = derSha256(cert.get());
  return out;
}

}  // namespace eccl::test
