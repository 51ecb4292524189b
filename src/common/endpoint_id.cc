#include "src/common/endpoint_id.h"

#include <openssl/rand.h>

#include <cstring>
#include <stdexcept>

namespace eccl {

EndpointId EndpointId::random() {
  EndpointId id;
  if (RAND_bytes(id.bytes.data(), static_cast<int>(id.bytes.size())) != 1) {
    // OpenSSL's CSPRNG fails only when the OS entropy source does; nothing sensible can go on.
    throw std::runtime_error("OpenSSL RAND_bytes failed: no entropy for endpoint ids");
  }
  return id;
}

bool EndpointId::isZero() const {
  for (uint8_t b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

std::string EndpointId::toHex() const {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 0xf]);
  }
  return out;
}

std::string EndpointId::shortHex() const {
  return toHex().substr(0, 8);
}

size_t EndpointIdHash::operator()(const EndpointId& id) const {
  uint64_t h;
  std::memcpy(&h, id.bytes.data(), sizeof(h));  // already uniformly random
  return static_cast<size_t>(h);
}

}  // namespace eccl
