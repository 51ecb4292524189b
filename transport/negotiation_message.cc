#include "transport/negotiation_message.h"

#include <string>

namespace eccl::transport {

Status checkNegotiationHead(std::span<const uint8_t> bytes, size_t size,
                            const NegotiationMagic& magic, uint8_t version,
                            std::string_view exchange, std::string_view what,
                            std::string_view hint) {
  if (bytes.size() != size || !std::equal(magic.begin(), magic.end(), bytes.begin())) {
    return protocolError("the other side sent no " + std::string(exchange) + " " +
                         std::string(what) + std::string(hint));
  }
  if (bytes[magic.size()] != version) {
    return unsupportedError(std::string(exchange) + " negotiation version " +
                            std::to_string(bytes[magic.size()]) + " (this build speaks " +
                            std::to_string(version) + ")");
  }
  return Status::ok();
}

Result<bool> negotiationFlag(uint8_t byte, std::string_view exchange, std::string_view what) {
  if (byte > 1) {
    return protocolError("bad " + std::string(what) + " flag in " + std::string(exchange) +
                         " negotiation");
  }
  return byte == 1;
}

}  // namespace eccl::transport
