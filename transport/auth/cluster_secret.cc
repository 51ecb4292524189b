#include "transport/auth/cluster_secret.h"

#include <openssl/crypto.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>

#include "src/common/log.h"

namespace eccl::transport::auth {

ClusterSecret::ClusterSecret(std::vector<uint8_t> key) : key_(std::move(key)) {}

ClusterSecret::~ClusterSecret() {
  if (!key_.empty()) OPENSSL_cleanse(key_.data(), key_.size());
}

Result<std::shared_ptr<const ClusterSecret>> ClusterSecret::fromBytes(
    std::span<const uint8_t> bytes) {
  if (bytes.size() < kMinBytes) {
    return invalidArgument("the cluster secret has " + std::to_string(bytes.size()) +
                           " bytes; at least " + std::to_string(kMinBytes) +
                           " are needed (e.g. `openssl rand -hex 32`)");
  }
  if (bytes.size() > kMaxBytes) {
    return invalidArgument("the cluster secret has " + std::to_string(bytes.size()) +
                           " bytes; at most " + std::to_string(kMaxBytes) + " are allowed");
  }
  return std::make_shared<const ClusterSecret>(std::vector<uint8_t>(bytes.begin(), bytes.end()));
}

Result<std::shared_ptr<const ClusterSecret>> ClusterSecret::loadFile(const std::string& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return invalidArgument("cannot read the cluster secret file " + path + ": " +
                           std::strerror(errno));
  }
  if (!S_ISREG(info.st_mode)) {
    return invalidArgument("the cluster secret file " + path + " is not a regular file");
  }
  if (info.st_size > static_cast<off_t>(kMaxBytes) + 2) {
    return invalidArgument("the cluster secret file " + path + " is larger than " +
                           std::to_string(kMaxBytes) + " bytes");
  }
  if ((info.st_mode & (S_IRGRP | S_IROTH)) != 0) {
    ECCL_LOG_WARN("the cluster secret file {} is readable by other users (chmod 600 it)", path);
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalidArgument("cannot open the cluster secret file " + path);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)),
                             std::istreambuf_iterator<char>());
  while (!bytes.empty() && (bytes.back() == '\n' || bytes.back() == '\r' || bytes.back() == ' ' ||
                            bytes.back() == '\t')) {
    bytes.pop_back();
  }
  auto secret = fromBytes(bytes);
  OPENSSL_cleanse(bytes.data(), bytes.size());
  if (!secret) return secret.status().withContext("cluster secret file " + path);
  return secret;
}

Result<std::shared_ptr<const ClusterSecret>> ClusterSecret::fromEnvironment() {
  const char* path = std::getenv("ECCL_SECRET_FILE");
  if (path == nullptr || *path == '\0') return std::shared_ptr<const ClusterSecret>();
  auto secret = loadFile(path);
  if (!secret) return secret.status().withContext("ECCL_SECRET_FILE");
  return secret;
}

}  // namespace eccl::transport::auth
