// What /proc says about a process: whether a pid is still the one we started,
// and how much CPU it used.
#pragma once

#include <sys/types.h>

#include <optional>

namespace eccl::tools::netlab {

// Field 22 of /proc/PID/stat (clock ticks after boot): with the pid, it names
// one process even after pids wrap around. Empty if there is no such process.
std::optional<unsigned long long> processStartTicks(pid_t pid);

// True if pid runs and started at start_ticks (not a zombie).
bool processIsAlive(pid_t pid, unsigned long long start_ticks);

// User + system CPU seconds of the process (all its threads), or empty.
std::optional<double> processCpuSeconds(pid_t pid);

}  // namespace eccl::tools::netlab
