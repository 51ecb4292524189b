// What a process left in /dev/shm, for tests of the shared-memory transport.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <string>
#include <vector>

namespace eccl::test {

// Names of the ECCL segments (eccl-<pid>-*) process `pid` created that are still linked.
std::vector<std::string> segmentsOf(pid_t pid);

// Sizes in bytes of the ECCL segments this process has mapped (linked or
// not), one entry per mapping, from /proc/self/maps.
std::vector<size_t> mappedSegmentSizes();

}  // namespace eccl::test
