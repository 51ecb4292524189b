// The WAN lab's background process: it detaches (fork, setsid), creates one TUN
// per host inside that host's namespace, writes its pidfile, says "ready PID"
// on stdout, then runs one DirectionPump thread per host until SIGTERM.
#pragma once

#include <string>

namespace eccl::tools::netlab {

inline constexpr const char* kTunDevice = "tun0";
// The hidden subcommand `up` starts the daemon with.
inline constexpr const char* kDaemonSubcommand = "_delay-line";

// Returns the exit code of the process that called it (the detached daemon
// keeps running after its parent returned 0).
int runDelayLineDaemon(const std::string& spec_json);

}  // namespace eccl::tools::netlab
