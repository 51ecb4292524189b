#include "tools/eccl-master/host_port_option.h"

#include "src/common/host_port.h"

namespace eccl::tools {

CLI::Validator hostPortValidator(bool port_optional) {
  return CLI::Validator(
      [port_optional](std::string& text) {
        auto parsed = parseHostPort(text, port_optional);
        return parsed ? std::string() : parsed.status().message();
      },
      port_optional ? "HOST[:PORT]" : "HOST:PORT");
}

}  // namespace eccl::tools
