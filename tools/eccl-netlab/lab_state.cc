#include "tools/eccl-netlab/lab_state.h"

#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

namespace eccl::tools::netlab {
namespace {

using nlohmann::json;

json specJson(const LabSpec& spec) {
  json slow = json::array();
  for (const SlowLink& link : spec.slow_links)
    slow.push_back({{"a", link.host_a}, {"b", link.host_b}, {"rate_bps", link.rate_bps}});
  json hosts = json::array();
  for (int i = 0; i < spec.hosts; ++i)
    hosts.push_back({{"namespace", hostNamespace(spec.prefix, i)}, {"address", hostAddress(i)}});
  return {{"prefix", spec.prefix},
          {"mode", modeName(spec.mode())},
          {"hosts", spec.hosts},
          {"rate_bps", spec.rate_bps},
          {"delay_us", spec.delay.count()},
          {"queue_us", spec.queue.count()},
          {"mtu", spec.mtu},
          {"gso", spec.gso},
          {"slow_links", slow},
          {"host_list", hosts}};
}

LabSpec specOf(const json& j) {
  LabSpec spec;
  spec.prefix = j.at("prefix").get<std::string>();
  spec.hosts = j.at("hosts").get<int>();
  spec.rate_bps = j.at("rate_bps").get<uint64_t>();
  spec.delay = std::chrono::microseconds(j.at("delay_us").get<int64_t>());
  spec.queue = std::chrono::microseconds(j.at("queue_us").get<int64_t>());
  spec.mtu = j.at("mtu").get<int>();
  spec.gso = j.at("gso").get<bool>();
  for (const json& link : j.at("slow_links"))
    spec.slow_links.push_back(
        {link.at("a").get<int>(), link.at("b").get<int>(), link.at("rate_bps").get<uint64_t>()});
  return spec;
}

std::string errnoText(const std::string& what) {
  return what + ": " + std::strerror(errno);
}

}  // namespace

std::string statePath(const std::string& prefix) {
  return std::string(kStateDirectory) + "/" + prefix + ".state";
}

std::string pidfilePath(const std::string& prefix) {
  return std::string(kStateDirectory) + "/" + prefix + ".pid";
}

std::string daemonLogPath(const std::string& prefix) {
  return std::string(kStateDirectory) + "/" + prefix + ".log";
}

Status ensureStateDirectory() {
  if (mkdir(kStateDirectory, 0755) != 0 && errno != EEXIST) {
    return systemError(errnoText(std::string("mkdir ") + kStateDirectory));
  }
  return Status::ok();
}

Status writeState(const LabState& state) {
  json j = specJson(state.spec);
  j["namespaces"] = state.namespaces;
  j["daemon_pid"] = state.daemon_pid;
  j["daemon_start_ticks"] = state.daemon_start_ticks;
  j["daemon_log"] = state.daemon_pid > 0 ? daemonLogPath(state.spec.prefix) : "";
  const std::string path = statePath(state.spec.prefix);
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out.flush()) return systemError("cannot write " + temporary);
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    return systemError(errnoText("rename " + temporary));
  }
  return Status::ok();
}

bool stateExists(const std::string& prefix) {
  struct stat info {};
  return stat(statePath(prefix).c_str(), &info) == 0;
}

Result<LabState> readState(const std::string& prefix) {
  const std::string path = statePath(prefix);
  std::ifstream in(path);
  if (!in) return invalidUsage("no lab '" + prefix + "' is up (no " + path + ")");
  std::stringstream text;
  text << in.rdbuf();
  try {
    const json j = json::parse(text.str());
    LabState state;
    state.spec = specOf(j);
    state.namespaces = j.at("namespaces").get<std::vector<std::string>>();
    state.daemon_pid = j.at("daemon_pid").get<pid_t>();
    state.daemon_start_ticks = j.at("daemon_start_ticks").get<unsigned long long>();
    return state;
  } catch (const json::exception& error) {
    return invalidUsage(path + " is damaged (" + error.what() + "); `down` still removes the lab");
  }
}

std::string specToJson(const LabSpec& spec) {
  return specJson(spec).dump();
}

Result<LabSpec> specFromJson(const std::string& text) {
  try {
    return specOf(json::parse(text));
  } catch (const json::exception& error) {
    return invalidArgument(std::string("bad lab spec: ") + error.what());
  }
}

}  // namespace eccl::tools::netlab
