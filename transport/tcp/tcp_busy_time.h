// The kernel's account of how long a TCP socket was busy sending: the time it
// had data queued or in flight (TCP_INFO's tcpi_busy_time, Linux 4.10+). Apart
// from tcp_stream.cc because glibc's <netinet/tcp.h> has an older tcp_info
// without it, and <linux/tcp.h> cannot be included beside it.
#pragma once

#include <chrono>
#include <optional>

namespace eccl::transport::tcp {

// Nothing when the socket cannot say (closed, or an older kernel).
std::optional<std::chrono::microseconds> kernelBusyTime(int fd);

}  // namespace eccl::transport::tcp
