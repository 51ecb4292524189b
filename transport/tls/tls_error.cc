#include "transport/tls/tls_error.h"

#include <openssl/err.h>

#include <asio/error.hpp>
#include <climits>

namespace eccl::transport::tls {
namespace {

class TlsCategory final : public std::error_category {
 public:
  const char* name() const noexcept override { return "tls"; }
  std::string message(int value) const override {
    char text[256];
    ERR_error_string_n(static_cast<unsigned long>(value), text, sizeof(text));
    const char* reason = ERR_reason_error_string(static_cast<unsigned long>(value));
    return reason != nullptr ? std::string(reason) : std::string(text);
  }
};

}  // namespace

const std::error_category& tlsCategory() {
  static const TlsCategory category;
  return category;
}

std::error_code takeTlsError() {
  const unsigned long error = ERR_get_error();
  ERR_clear_error();
  if (error == 0) return asio::error::connection_aborted;
  // A system error (ERR_SYSTEM_FLAG set) carries errno as its reason.
  if (ERR_SYSTEM_ERROR(error)) {
    return {static_cast<int>(ERR_GET_REASON(error)), std::system_category()};
  }
  // Library and reason fit in 31 bits (ERR_PACK), so the value survives an int.
  return {static_cast<int>(error & INT_MAX), tlsCategory()};
}

std::string takeOpensslErrors() {
  std::string text;
  while (const unsigned long error = ERR_get_error()) {
    const char* reason = ERR_reason_error_string(error);
    std::string part;
    if (reason != nullptr) {
      part = reason;
    } else {
      char buffer[256];
      ERR_error_string_n(error, buffer, sizeof(buffer));
      part = buffer;
    }
    if (text.find(part) != std::string::npos) continue;
    if (!text.empty()) text += "; ";
    text += part;
  }
  return text.empty() ? std::string("unknown") : text;
}

}  // namespace eccl::transport::tls
