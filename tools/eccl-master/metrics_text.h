// The master's /metrics page: a snapshot in the Prometheus text exposition format (0.0.4).
#pragma once

#include <string>
#include <string_view>

#include "src/membership/master_state.h"

namespace eccl::tools::master {

inline constexpr const char* kMetricsContentType = "text/plain; version=0.0.4; charset=utf-8";

std::string renderMetrics(const membership::MasterSnapshot& snapshot);

// A label value with \, " and newline escaped as the format requires.
std::string escapeLabelValue(std::string_view value);

}  // namespace eccl::tools::master
