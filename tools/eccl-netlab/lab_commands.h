// The subcommands a user runs: up, down, show, exec, addr.
#pragma once

#include <string>
#include <vector>

#include "src/common/status.h"
#include "tools/eccl-netlab/lab_spec.h"

namespace eccl::tools::netlab {

// Fails with kUnsupported (exit code 2) when not root or namespaces are unavailable.
Status checkPrivileges();

// Builds the lab and returns once h0 reaches every other host. On failure
// whatever was created is removed again.
Status upLab(const LabSpec& spec, bool quiet = false);

// Stops the daemon and deletes the lab's namespaces and files. Idempotent;
// without a state file it deletes PREFIX-h<digits> and PREFIX-br.
Status downLab(const std::string& prefix, bool quiet = false);

Status showLab(const std::string& prefix);
Status printHostAddress(const std::string& prefix, const std::string& host);

// Replaces this process with `ip netns exec NS command...`: the command's exit
// status is this process's. Returns only on failure.
Status execInHost(const std::string& prefix, const std::string& host,
                  const std::vector<std::string>& command);

}  // namespace eccl::tools::netlab
