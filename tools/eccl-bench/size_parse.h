// Byte sizes as people type them on a command line ("256M", "1GiB", "4096").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "src/common/status.h"

namespace eccl::tools::bench {

// A decimal count of bytes with an optional binary suffix: K, M, G or T (powers
// of 1024), optionally followed by "iB" or "B". Case-insensitive; "0" is refused.
Result<uint64_t> parseSize(std::string_view text);

// A comma-separated list of sizes: "1M,16M,256M".
Result<std::vector<uint64_t>> parseSizeList(std::string_view text);

// "256 MiB", "4 KiB", "1000 B": the largest binary unit that divides exactly.
std::string formatSize(uint64_t bytes);

}  // namespace eccl::tools::bench
