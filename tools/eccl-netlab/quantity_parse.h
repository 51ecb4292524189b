// Link rates and durations as people type them for tc ("1gbit", "25ms").
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "src/common/status.h"

namespace eccl::tools::netlab {

// Bits per second. Units as tc spells them, case-insensitive, decimal steps:
// bit kbit mbit gbit tbit (bits/s) and bps kbps mbps gbps (bytes/s). A bare
// number is bits/s (as in tc). Fractions are allowed ("1.5gbit"); 0 is refused.
Result<uint64_t> parseRate(std::string_view text);

// A duration: "25ms", "1s", "500us"; a bare number is milliseconds. 0 is allowed.
Result<std::chrono::microseconds> parseDuration(std::string_view text);

// "1 Gbit/s", "250 Mbit/s", "1.5 Gbit/s".
std::string formatRate(uint64_t bits_per_second);

// "25 ms", "1.5 ms", "0 ms".
std::string formatDuration(std::chrono::microseconds duration);

}  // namespace eccl::tools::netlab
