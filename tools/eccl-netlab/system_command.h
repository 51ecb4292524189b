// Runs `ip`, `tc` and the like as child processes, bounded in time, with their
// error output in the Status when they fail.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "src/common/status.h"

namespace eccl::tools::netlab {

// Runs argv (argv[0] a path, or looked up on PATH) and returns its stdout; fails with
// the command line and its stderr unless it exits with 0.
Result<std::string> runCommand(const std::vector<std::string>& argv,
                               std::chrono::milliseconds timeout = std::chrono::seconds(20));

// argv prefixed with `ip netns exec NAMESPACE`.
std::vector<std::string> inNamespace(const std::string& name, std::vector<std::string> argv);

// "ip -n ns link set ..." as one line, for messages.
std::string joinCommand(const std::vector<std::string>& argv);

}  // namespace eccl::tools::netlab
