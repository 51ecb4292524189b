// The master's live dashboard (GET /): one self-contained HTML page
// (dashboard.html, built into the binary) whose script polls GET /status.
#pragma once

#include <string_view>

namespace eccl::tools::master {

inline constexpr const char* kDashboardContentType = "text/html; charset=utf-8";

std::string_view dashboardPage();

}  // namespace eccl::tools::master
