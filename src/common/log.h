// Levelled logging to stderr through spdlog. The level comes from ECCL_LOG
// (debug|info|warn|error|off; default warn) the first time a message is logged.
#pragma once

#include <spdlog/spdlog.h>

namespace eccl::log {

// The library's logger ("eccl"), created on first use.
spdlog::logger& logger();

// Re-reads ECCL_LOG, or sets a level explicitly (tools map --verbose to it).
void setLevelFromEnvironment();
void setLevel(spdlog::level::level_enum level);

}  // namespace eccl::log

#define ECCL_LOG_DEBUG(...) ::eccl::log::logger().debug(__VA_ARGS__)
#define ECCL_LOG_INFO(...) ::eccl::log::logger().info(__VA_ARGS__)
#define ECCL_LOG_WARN(...) ::eccl::log::logger().warn(__VA_ARGS__)
#define ECCL_LOG_ERROR(...) ::eccl::log::logger().error(__VA_ARGS__)
