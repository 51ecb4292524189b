// The state file of a running lab (/run/eccl-netlab/PREFIX.state, JSON): what
// `down` deletes and `show`, `exec`, `addr` read. Written before anything is
// created and rewritten as the lab grows, so a failed `up` can still be undone.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "src/common/status.h"
#include "tools/eccl-netlab/lab_spec.h"

namespace eccl::tools::netlab {

inline constexpr const char* kStateDirectory = "/run/eccl-netlab";

struct LabState {
  LabSpec spec;
  std::vector<std::string> namespaces;        // created so far, exactly these are deleted
  pid_t daemon_pid = 0;                       // WAN: the delay line; 0 = none
  unsigned long long daemon_start_ticks = 0;  // /proc/PID/stat starttime: the pid's identity
};

std::string statePath(const std::string& prefix);
std::string pidfilePath(const std::string& prefix);
std::string daemonLogPath(const std::string& prefix);

Status ensureStateDirectory();
// Atomic: a temporary file renamed over the old one.
Status writeState(const LabState& state);
// kInvalidUsage "no lab ..." when the file does not exist.
Result<LabState> readState(const std::string& prefix);
bool stateExists(const std::string& prefix);

// The spec alone, as the daemon receives it on its command line.
std::string specToJson(const LabSpec& spec);
Result<LabSpec> specFromJson(const std::string& text);

}  // namespace eccl::tools::netlab
