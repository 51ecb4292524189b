#include "transport/tcp/tcp_kernel_info.h"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>

namespace eccl::transport::tcp {
namespace {

// An older kernel fills a shorter struct: `end` is where the field needed ends.
bool readTcpInfo(int fd, tcp_info& info, size_t end) {
  socklen_t size = sizeof(info);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) != 0) return false;
  return size >= end;
}

}  // namespace

std::optional<std::chrono::microseconds> kernelBusyTime(int fd) {
  tcp_info info{};
  if (!readTcpInfo(fd, info, offsetof(tcp_info, tcpi_busy_time) + sizeof(info.tcpi_busy_time))) {
    return std::nullopt;
  }
  return std::chrono::microseconds(info.tcpi_busy_time);
}

std::optional<std::chrono::microseconds> kernelRoundTrip(int fd) {
  tcp_info info{};
  if (!readTcpInfo(fd, info, offsetof(tcp_info, tcpi_rtt) + sizeof(info.tcpi_rtt))) {
    return std::nullopt;
  }
  if (info.tcpi_rtt == 0) return std::nullopt;
  return std::chrono::microseconds(info.tcpi_rtt);
}

}  // namespace eccl::transport::tcp
