// The port a tool (eccl-master --port-file, --http-port-file) wrote to a file
// once it listened: what a parent that started it on port 0 waits for.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace eccl::tools {

// Polls until the file holds a port (the tool renames it into place whole) or
// `timeout` has passed.
std::optional<uint16_t> readPortFile(const std::string& path, std::chrono::milliseconds timeout);

}  // namespace eccl::tools
