#include "transport/shm/host_id.h"

#include <openssl/evp.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <string>

namespace eccl::transport::shm {
namespace {

std::string readFile(const char* path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// "net:[4026531840]": the namespace's inode; empty when unreadable.
std::string namespaceOf(const char* kind) {
  char target[128] = {};
  const std::string link = std::string("/proc/self/ns/") + kind;
  const ssize_t n = ::readlink(link.c_str(), target, sizeof(target) - 1);
  return n > 0 ? std::string(target, static_cast<size_t>(n)) : std::string();
}

std::optional<HostId> computeHostId() {
  const std::string boot = readFile("/proc/sys/kernel/random/boot_id");
  if (boot.empty()) return std::nullopt;
  std::string material = "eccl-host-v1|" + boot + "|" + namespaceOf("net") + "|" +
                         namespaceOf("ipc") + "|" + namespaceOf("mnt") + "|" +
                         std::to_string(::getuid());
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(material.data(), material.size(), digest, &length, EVP_sha256(), nullptr) != 1 ||
      length < 16) {
    return std::nullopt;
  }
  HostId id{};
  std::copy(digest, digest + id.size(), id.begin());
  return id;
}

}  // namespace

const std::optional<HostId>& thisHostId() {
  static const std::optional<HostId> id = computeHostId();
  return id;
}

}  // namespace eccl::transport::shm
