#include "src/common/log.h"

#include <spdlog/sinks/stdout_sinks.h>

#include <cstdlib>
#include <memory>
#include <string>

namespace eccl::log {
namespace {

spdlog::level::level_enum levelFromEnvironment() {
  const char* value = std::getenv("ECCL_LOG");
  if (value == nullptr || *value == '\0') return spdlog::level::warn;
  const std::string text(value);
  if (text == "trace") return spdlog::level::trace;
  if (text == "debug") return spdlog::level::debug;
  if (text == "info") return spdlog::level::info;
  if (text == "warn" || text == "warning") return spdlog::level::warn;
  if (text == "error") return spdlog::level::err;
  if (text == "off" || text == "none") return spdlog::level::off;
  return spdlog::level::warn;
}

std::shared_ptr<spdlog::logger> makeLogger() {
  // stderr_sink_mt: one line per message, safe from every I/O thread.
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto made = std::make_shared<spdlog::logger>("eccl", std::move(sink));
  made->set_pattern("[%H:%M:%S.%e] [eccl %P] [%^%l%$] %v");
  made->set_level(levelFromEnvironment());
  made->flush_on(spdlog::level::warn);
  return made;
}

}  // namespace

spdlog::logger& logger() {
  static const std::shared_ptr<spdlog::logger> instance = makeLogger();
  return *instance;
}

void setLevelFromEnvironment() {
  logger().set_level(levelFromEnvironment());
}

void setLevel(spdlog::level::level_enum level) {
  logger().set_level(level);
}

}  // namespace eccl::log
