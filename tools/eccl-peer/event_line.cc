#include "tools/eccl-peer/event_line.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace eccl::tools::peer {

std::string formatEventLine(const EventLine& line, bool json) {
  if (json) {
    return nlohmann::json{
        {"t_ns", line.t_ns}, {"event", line.event},           {"peer", line.peer},
        {"rank", line.rank}, {"world_size", line.world_size}, {"revision", line.revision}}
        .dump();
  }
  const std::string ring = " rank=" + std::to_string(line.rank) +
                           " world=" + std::to_string(line.world_size) +
                           " revision=" + std::to_string(line.revision);
  if (line.event == "admitted" || line.event == "topology") {
    return line.event + ring + " peer=" + line.peer;
  }
  return line.event + " peer=" + line.peer + " revision=" + std::to_string(line.revision);
}

std::string formatStepLine(const StepLine& line, bool json) {
  if (json) {
    return nlohmann::json{{"t_ns", line.t_ns},
                          {"event", "step"},
                          {"step", line.step},
                          {"rank", line.rank},
                          {"world_size", line.world_size},
                          {"revision", line.revision},
                          {"bytes", line.bytes},
                          {"seconds", line.seconds},
                          {"busbw_gbs", line.busbw_gbs},
                          {"ok", true}}
        .dump();
  }
  char text[256];
  std::snprintf(text, sizeof text,
                "step %llu rank=%d world=%d revision=%llu %.1f MB in %.3f s busbw %.2f GB/s ok",
                static_cast<unsigned long long>(line.step), line.rank, line.world_size,
                static_cast<unsigned long long>(line.revision),
                static_cast<double>(line.bytes) / 1e6, line.seconds, line.busbw_gbs);
  return text;
}

}  // namespace eccl::tools::peer
