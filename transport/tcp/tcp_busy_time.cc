#include "transport/tcp/tcp_busy_time.h"

#include <linux/tcp.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstddef>

namespace eccl::transport::tcp {

std::optional<std::chrono::microseconds> kernelBusyTime(int fd) {
  tcp_info info{};
  socklen_t size = sizeof(info);
  if (::getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &size) != 0) return std::nullopt;
  // An older kernel fills a shorter struct.
  if (size < offsetof(tcp_info, tcpi_busy_time) + sizeof(info.tcpi_busy_time)) return std::nullopt;
  return std::chrono::microseconds(info.tcpi_busy_time);
}

}  // namespace eccl::transport::tcp
