#include "src/membership/peer_token.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace eccl::membership {

TokenKey randomTokenKey() {
  TokenKey key;
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed: no entropy for the token key");
  }
  return key;
}

Result<TokenKey> loadOrCreateTokenKey(const std::string& path, bool* existed) {
  TokenKey key;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (existed != nullptr) *existed = fd >= 0;
  if (fd >= 0) {
    ssize_t n = ::read(fd, key.data(), key.size());
    ::close(fd);
    if (n != static_cast<ssize_t>(key.size())) {
      return invalidArgument("token key file " + path + " must hold exactly 32 bytes");
    }
    return key;
  }
  if (errno != ENOENT)
    return systemError("cannot read token key file " + path + ": " + std::strerror(errno));
  key = randomTokenKey();
  fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return systemError("cannot create token key file " + path + ": " + std::strerror(errno));
  ssize_t n = ::write(fd, key.data(), key.size());
  ::close(fd);
  if (n != static_cast<ssize_t>(key.size())) {
    return systemError("cannot write token key file " + path);
  }
  return key;
}

protocol::PeerToken makeToken(const TokenKey& key, const EndpointId& peer) {
  protocol::PeerToken token{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), peer.bytes.data(), peer.bytes.size(),
       token.data(), &length);
  return token;
}

bool tokenMatches(const TokenKey& key, const EndpointId& peer, const protocol::PeerToken& token) {
  const protocol::PeerToken expected = makeToken(key, peer);
  return CRYPTO_memcmp(expected.data(), token.data(), token.size()) == 0;
}

}  // namespace eccl::membership
