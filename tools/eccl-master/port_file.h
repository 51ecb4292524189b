// Writes a bound port to a file for whoever started the tool with port 0.
#pragma once

#include <cstdint>
#include <string>

#include "src/common/status.h"

namespace eccl::tools {

// Writes "<port>\n" to PATH.tmp and renames it to PATH, so that a reader never
// sees a partly written file: the file either is absent or holds the port.
Status writePortFile(const std::string& path, uint16_t port);

}  // namespace eccl::tools
