// Random 128-bit identifiers for endpoints, channels and (later) peers.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>

namespace eccl {

struct EndpointId {
  std::array<uint8_t, 16> bytes{};

  // 16 bytes from OpenSSL's CSPRNG: unguessable, so an id can also serve as a
  // capability in later authentication work.
  static EndpointId random();

  bool isZero() const;
  // 32 lowercase hex digits.
  std::string toHex() const;
  // The first 8 hex digits, for log lines.
  std::string shortHex() const;

  friend bool operator==(const EndpointId&, const EndpointId&) = default;
  friend auto operator<=>(const EndpointId&, const EndpointId&) = default;
};

struct EndpointIdHash {
  size_t operator()(const EndpointId& id) const;
};

}  // namespace eccl
