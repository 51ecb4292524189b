// What the kernel knows about a TCP socket (TCP_INFO). Apart from
// tcp_stream.cc because glibc's <netinet/tcp.h> has an older tcp_info without
// tcpi_busy_time, and <linux/tcp.h> cannot be included beside it.
#pragma once

#include <chrono>
#include <optional>

namespace eccl::transport::tcp {

// How long the socket was busy sending: the time it had data queued or in
// flight (tcpi_busy_time, Linux 4.10+). Nothing when the socket cannot say
// (closed, or an older kernel).
std::optional<std::chrono::microseconds> kernelBusyTime(int fd);

// The kernel's smoothed round-trip time (tcpi_rtt); on a socket that has just
// connected, the time its handshake took. Nothing when the socket cannot say
// or has no sample yet.
std::optional<std::chrono::microseconds> kernelRoundTrip(int fd);

}  // namespace eccl::transport::tcp
