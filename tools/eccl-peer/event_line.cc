#include "tools/eccl-peer/event_line.h"

#include <cstdio>
#include <nlohmann/json.hpp>

namespace eccl::tools::peer {
namespace {

std::string hashText(uint64_t hash) {
  char text[17];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(hash));
  return text;
}

std::string ringFields(int rank, int world_size, uint64_t revision) {
  return " rank=" + std::to_string(rank) + " world=" + std::to_string(world_size) +
         " revision=" + std::to_string(revision);
}

}  // namespace

std::string formatEventLine(const EventLine& line, bool json) {
  if (json) {
    return nlohmann::json{
        {"t_ns", line.t_ns}, {"event", line.event},           {"peer", line.peer},
        {"rank", line.rank}, {"world_size", line.world_size}, {"revision", line.revision}}
        .dump();
  }
  const std::string ring = ringFields(line.rank, line.world_size, line.revision);
  if (line.event == "admitted" || line.event == "topology") {
    return line.event + ring + " peer=" + line.peer;
  }
  return line.event + " peer=" + line.peer + " revision=" + std::to_string(line.revision);
}

std::string formatStepLine(const StepLine& line, bool json) {
  if (json) {
    nlohmann::json out{{"t_ns", line.t_ns},
                       {"event", "step"},
                       {"step", line.step},
                       {"rank", line.rank},
                       {"world_size", line.world_size},
                       {"revision", line.revision},
                       {"ok", line.ok}};
    if (line.ok) {
      out["bytes"] = line.bytes;
      out["seconds"] = line.seconds;
      out["busbw_gbs"] = line.busbw_gbs;
      if (line.hash) out["hash"] = hashText(*line.hash);
    } else {
      out["code"] = line.code;
      out["error"] = line.error;
    }
    return out.dump();
  }
  if (!line.ok) {
    return "step " + std::to_string(line.step) +
           ringFields(line.rank, line.world_size, line.revision) + " failed: " + line.code + ": " +
           line.error;
  }
  char text[256];
  std::snprintf(text, sizeof text,
                "step %llu rank=%d world=%d revision=%llu %.1f MB in %.3f s busbw %.2f GB/s ok",
                static_cast<unsigned long long>(line.step), line.rank, line.world_size,
                static_cast<unsigned long long>(line.revision),
                static_cast<double>(line.bytes) / 1e6, line.seconds, line.busbw_gbs);
  if (line.hash) return text + (" hash=" + hashText(*line.hash));
  return text;
}

std::string formatStateLine(const StateLine& line, bool json) {
  if (json) {
    nlohmann::json out{{"t_ns", line.t_ns},         {"event", "state"},
                       {"step", line.step},         {"revision", line.revision},
                       {"strategy", line.strategy}, {"ok", line.ok}};
    if (line.ok) {
      out["hash"] = hashText(line.hash);
      out["bytes_received"] = line.bytes_received;
      out["bytes_sent"] = line.bytes_sent;
      out["entries_fixed"] = line.entries_fixed;
      out["rounds"] = line.rounds;
      out["seconds"] = line.seconds;
    } else {
      out["code"] = line.code;
      out["error"] = line.error;
    }
    return out.dump();
  }
  if (!line.ok) {
    return "state step " + std::to_string(line.step) + " " + line.strategy +
           " failed: " + line.code + ": " + line.error;
  }
  char text[256];
  std::snprintf(
      text, sizeof text,
      "state step %llu revision=%llu %s received %.1f MB sent %.1f MB in %.3f s "
      "(%u entries fixed, %u rounds) hash=",
      static_cast<unsigned long long>(line.step), static_cast<unsigned long long>(line.revision),
      line.strategy.c_str(), static_cast<double>(line.bytes_received) / 1e6,
      static_cast<double>(line.bytes_sent) / 1e6, line.seconds, line.entries_fixed, line.rounds);
  return text + hashText(line.hash);
}

}  // namespace eccl::tools::peer
