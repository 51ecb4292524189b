#include "tools/eccl-peer/event_line.h"

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

}  // namespace eccl::tools::peer
